import type { DType, DataTypeMap } from "../tensor.js"
import { Tensor, allocate } from "../tensor.js"

const f32Scratch = new Float32Array(1)
const u32Scratch = new Uint32Array(f32Scratch.buffer)

/** Decodes IEEE half-precision bits (0..65535) to a number (exact). */
export function float16BitsToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >>> 10) & 0x1f
  const mantissa = bits & 0x3ff
  if (exponent === 0) return sign * mantissa * 2 ** -24
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : Number.NaN
  return sign * (1024 + mantissa) * 2 ** (exponent - 25)
}

/**
 * Encodes a number as IEEE half bits with round-to-nearest-even, via float32 first (as torch's
 * `.half()` does for float32 and float64 tensors). Handles subnormals, ±0, ±inf (overflow) and NaN.
 *
 * @example
 * floatToFloat16Bits(1) // 0x3c00
 */
export function floatToFloat16Bits(value: number): number {
  f32Scratch[0] = value
  const bits = u32Scratch[0]!
  const sign = (bits >>> 16) & 0x8000
  const exponent = (bits >>> 23) & 0xff
  const mantissa = bits & 0x7fffff
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200 | (mantissa >>> 13))
  if (exponent >= 113) {
    // normal half: rebias exponent (127 -> 15), drop 13 mantissa bits with round-to-nearest-even
    let half = ((exponent - 112) << 10) | (mantissa >>> 13)
    const rest = mantissa & 0x1fff
    if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++ // a carry into the exponent is correct
    return half >= 0x7c00 ? sign | 0x7c00 : sign | half
  }
  if (exponent < 102) return sign // below half the smallest subnormal (2^-25): rounds to ±0
  // subnormal half: value / 2^-24 = (1.mantissa) * 2^(exponent - 126 + 23) -> shift right by 126 - exponent
  const full = mantissa | 0x800000
  const shift = 126 - exponent
  let half = full >>> shift
  const rest = full & ((1 << shift) - 1)
  const midpoint = 1 << (shift - 1)
  if (rest > midpoint || (rest === midpoint && half & 1)) half++
  return sign | half
}

let halfTable: Float32Array | undefined

/** All 65536 half values as float32, built on first use. */
function halfToFloatTable(): Float32Array {
  if (halfTable === undefined) {
    halfTable = new Float32Array(65536)
    for (let i = 0; i < 65536; i++) halfTable[i] = float16BitsToFloat(i)
  }
  return halfTable
}

/** The values of a tensor as numbers (float16 decoded, int64 converted), without copying float32 data. */
export function float32Data(tensor: Tensor): Float32Array {
  return toFloat32(tensor).data
}

/**
 * The tensor as float32: float16 bits are decoded exactly, float64 rounded, integers converted.
 * A float32 tensor is returned as is (no copy).
 */
export function toFloat32(tensor: Tensor): Tensor<"float32"> {
  if (tensor.dtype === "float32") return tensor as Tensor<"float32">
  const out = new Float32Array(tensor.size)
  if (tensor.dtype === "float16") {
    const table = halfToFloatTable()
    const bits = tensor.data as Uint16Array
    for (let i = 0; i < out.length; i++) out[i] = table[bits[i]!]!
  } else if (tensor.dtype === "int64") {
    const data = tensor.data as BigInt64Array
    for (let i = 0; i < out.length; i++) out[i] = Number(data[i]!)
  } else {
    out.set(tensor.data as Exclude<typeof tensor.data, BigInt64Array | Uint16Array>)
  }
  return new Tensor("float32", out, tensor.shape)
}

/** The tensor as float16 bits, rounding to nearest even (via float32, like torch). A float16 tensor is returned as is. */
export function toFloat16(tensor: Tensor): Tensor<"float16"> {
  if (tensor.dtype === "float16") return tensor as Tensor<"float16">
  const out = new Uint16Array(tensor.size)
  const data = tensor.data
  for (let i = 0; i < out.length; i++) out[i] = floatToFloat16Bits(Number(data[i]!))
  return new Tensor("float16", out, tensor.shape)
}

/**
 * Converts to any dtype. Floats to integers truncate toward zero (NaN becomes 0); int32 and uint8
 * wrap like typed-array stores. Converting to the same dtype returns the tensor itself.
 *
 * @example
 * toDType(Tensor.fromArray([1.7, -2.5]), "int64").data // BigInt64Array [1n, -2n]
 */
export function toDType<D extends DType>(tensor: Tensor, dtype: D): Tensor<D> {
  if (tensor.dtype === dtype) return tensor as Tensor<D>
  if (dtype === "float32") return toFloat32(tensor) as Tensor<D>
  if (dtype === "float16") return toFloat16(tensor) as Tensor<D>
  const values = tensor.dtype === "float16" ? toFloat32(tensor).data : tensor.data
  const out = allocate(dtype, tensor.size)
  if (dtype === "int64") {
    const target = out as BigInt64Array
    for (let i = 0; i < target.length; i++) {
      const v = values[i]!
      target[i] = typeof v === "bigint" ? v : Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n
    }
  } else {
    const target = out as Exclude<DataTypeMap[DType], BigInt64Array>
    for (let i = 0; i < target.length; i++) {
      const v = Number(values[i]!)
      target[i] = dtype === "float64" ? v : Number.isNaN(v) ? 0 : Math.trunc(v)
    }
  }
  return new Tensor(dtype, out, tensor.shape)
}
