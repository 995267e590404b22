/**
 * Scalar float32 ports of the Cephes-style `log256_ps` and `sincos256_ps` that torch's AVX2
 * build uses in `normal_fill_16_AVX2` (pytorch `aten/src/ATen/native/cpu/avx_mathfun.h`,
 * itself after Julien Pommier's `sse_mathfun.h`, zlib licence; written anew here).
 *
 * Every step is float32 (`Math.fround`), and the multiply-adds that the compiler contracted
 * into `vfmadd` instructions in the shipped x86 wheel are single-rounding {@link fma32} calls
 * (which steps are fused was measured on torch 2.11 outputs; with plain mul-then-add ~0.1 % of
 * elements come out 1 ulp off).
 */
import { fma32 } from "./float32-fma.js"

const fround = Math.fround

// Shared scratch for float32 <-> bits.
const scratchF32 = new Float32Array(1)
const scratchU32 = new Uint32Array(scratchF32.buffer)

const MIN_NORM_POS = fround(1.17549435e-38) // bits 0x00800000
const SQRTHF = fround(0.707106781186547524)
const LOG_P0 = fround(7.0376836292e-2)
const LOG_P1 = fround(-1.151461031e-1)
const LOG_P2 = fround(1.167699874e-1)
const LOG_P3 = fround(-1.2420140846e-1)
const LOG_P4 = fround(1.4249322787e-1)
const LOG_P5 = fround(-1.6668057665e-1)
const LOG_P6 = fround(2.0000714765e-1)
const LOG_P7 = fround(-2.4999993993e-1)
const LOG_P8 = fround(3.3333331174e-1)
const LOG_Q1 = fround(-2.12194440e-4)
const LOG_Q2 = fround(0.693359375)

/**
 * Natural logarithm of a float32 `x > 0`, as `log256_ps` computes it (NaN for `x <= 0`).
 */
export function log256(input: number): number {
  if (!(input > 0)) return Number.NaN
  scratchF32[0] = input > MIN_NORM_POS ? input : MIN_NORM_POS
  const bits = scratchU32[0]!
  // Mantissa with the exponent of 0.5: x in [0.5, 1).
  scratchU32[0] = (bits & ~0x7f800000) | 0x3f000000
  let x = scratchF32[0]!
  let e = (bits >>> 23) - 127 + 1
  // if (x < SQRTHF) { e -= 1; x = x + x - 1 } else { x = x - 1 }
  const below = x < SQRTHF
  const tmp = below ? x : 0
  x = fround(x - 1)
  if (below) e -= 1
  x = fround(x + tmp)

  const z = fround(x * x)
  let y = LOG_P0
  y = fma32(y, x, LOG_P1)
  y = fma32(y, x, LOG_P2)
  y = fma32(y, x, LOG_P3)
  y = fma32(y, x, LOG_P4)
  y = fma32(y, x, LOG_P5)
  y = fma32(y, x, LOG_P6)
  y = fma32(y, x, LOG_P7)
  y = fma32(y, x, LOG_P8)
  y = fround(y * x)
  y = fma32(y, z, fround(e * LOG_Q1)) // y*z fused into "+ e*q1"
  y = fma32(-0.5, z, y) // y - 0.5*z
  x = fround(x + y)
  return fma32(e, LOG_Q2, x) // x + e*q2 fused
}

const MINUS_DP1 = fround(-0.78515625)
const MINUS_DP2 = fround(-2.4187564849853515625e-4)
const MINUS_DP3 = fround(-3.77489497744594108e-8)
const SINCOF_P0 = fround(-1.9515295891e-4)
const SINCOF_P1 = fround(8.3321608736e-3)
const SINCOF_P2 = fround(-1.6666654611e-1)
const COSCOF_P0 = fround(2.443315711809948e-5)
const COSCOF_P1 = fround(-1.388731625493765e-3)
const COSCOF_P2 = fround(4.166664568298827e-2)
const FOPI = fround(1.27323954473516) // 4 / pi

/** Output of {@link sincos256}: written in place to avoid an allocation per call. */
export interface SinCos {
  sin: number
  cos: number
}

/**
 * Sine and cosine of a float32 `x` (accurate for |x| < 8192), as `sincos256_ps` computes them.
 * Results go into `out`.
 */
export function sincos256(input: number, out: SinCos): void {
  let signSin = input < 0 || Object.is(input, -0)
  let x = Math.abs(input)
  // Octant j = (trunc(x * 4/pi) + 1) & ~1, as an int32 (cvttps).
  let j = (fround(x * FOPI) | 0) + 1
  j &= ~1
  const y0 = j
  const swapSignSin = (j & 4) !== 0
  const cosPolyForSin = (j & 2) === 0 // poly_mask: sine from the sine polynomial
  // Extended precision modular arithmetic: x = ((x - y*DP1) - y*DP2) - y*DP3, each step fused.
  x = fma32(y0, MINUS_DP1, x)
  x = fma32(y0, MINUS_DP2, x)
  x = fma32(y0, MINUS_DP3, x)
  const signCos = (~(j - 2) & 4) !== 0
  signSin = signSin !== swapSignSin

  const z = fround(x * x)
  // Cosine polynomial (0 <= x <= pi/4).
  let yc = COSCOF_P0
  yc = fma32(yc, z, COSCOF_P1)
  yc = fma32(yc, z, COSCOF_P2)
  yc = fround(yc * z)
  yc = fma32(yc, z, -fround(z * 0.5)) // y*z fused into "- 0.5*z"
  yc = fround(yc + 1)
  // Sine polynomial.
  let ys = SINCOF_P0
  ys = fma32(ys, z, SINCOF_P1)
  ys = fma32(ys, z, SINCOF_P2)
  ys = fround(ys * z)
  ys = fma32(ys, x, x) // ys*x + x fused

  // Select with masks, as the vector code does (the unselected lane contributes +0).
  let sin: number
  let cos: number
  if (cosPolyForSin) {
    sin = 0 + ys
    cos = yc + fround(ys - ys)
  } else {
    sin = yc + 0
    cos = fround(yc - yc) + ys
  }
  out.sin = signSin ? -sin : sin
  out.cos = signCos ? -cos : cos
}
