/**
 * IEEE half-precision conversions used by the float16 paths of the generator
 * (private to `random/`: bit-exact round-to-nearest-even like c10's `fp16_ieee_from_fp32_value`).
 */

const scratchF32 = new Float32Array(1)
const scratchU32 = new Uint32Array(scratchF32.buffer)

/** Half bit pattern of a float32 value (round to nearest, ties to even; NaN stays NaN). */
export function float32ToHalfBits(value: number): number {
  scratchF32[0] = value
  const bits = scratchU32[0]!
  const sign = (bits >>> 16) & 0x8000
  const magnitude = bits & 0x7fffffff
  if (magnitude >= 0x7f800000) return sign | (magnitude > 0x7f800000 ? 0x7e00 : 0x7c00)
  if (magnitude >= 0x477ff000) return sign | 0x7c00 // >= 65520 rounds to infinity
  if (magnitude < 0x38800000) {
    // Below 2^-14: a subnormal half, counted in units of 2^-24.
    const units = Math.abs(scratchF32[0]!) * 16777216
    const floor = Math.floor(units)
    const rest = units - floor
    const rounded = rest > 0.5 || (rest === 0.5 && (floor & 1) === 1) ? floor + 1 : floor
    return sign | rounded
  }
  const exponent = (magnitude >>> 23) - 127 + 15
  const mantissa = magnitude & 0x7fffff
  let half = (exponent << 10) | (mantissa >>> 13)
  const rest = mantissa & 0x1fff
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half += 1
  return sign | half
}

/** Half bit pattern of a double, converted the way `static_cast<c10::Half>(double)` does: to float32 first. */
export function float64ToHalfBits(value: number): number {
  return float32ToHalfBits(Math.fround(value))
}

/** The value of a half bit pattern. */
export function halfBitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >>> 10) & 0x1f
  const mantissa = bits & 0x3ff
  if (exponent === 0) return sign * mantissa * 2 ** -24
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : Number.NaN
  return sign * (1024 + mantissa) * 2 ** (exponent - 25)
}
