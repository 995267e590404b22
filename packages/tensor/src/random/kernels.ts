/**
 * The sampling kernels of torch's CPU generator, ported from pytorch
 * `aten/src/ATen/native/cpu/DistributionTemplates.h` (`normal_fill_16_AVX2`, `normal_fill_AVX2`,
 * `normal_fill_16`, `normal_fill`), `aten/src/ATen/core/DistributionsHelper.h`
 * (`uniform_real_distribution`, `normal_distribution<double>`) and
 * `aten/src/ATen/core/TransformationHelper.h` (`uniform_real`).
 */
import { accurateLog, accurateSinCos } from "./accurate-math.js"
import type { SinCosPair } from "./accurate-math.js"
import { log256, sincos256 } from "./avx-mathfun.js"
import type { SinCos } from "./avx-mathfun.js"
import type { Mt19937 } from "./mt19937.js"

const fround = Math.fround

/** `2.0f * c10::pi<double>` broadcast to float32 (`_mm256_set1_ps`). */
const TWO_PI_F32 = fround(2 * Math.PI)
const TWO_POW_MINUS_24 = 2 ** -24
const TWO_POW_MINUS_53 = 2 ** -53
const TWO_POW_32 = 4294967296

/** The Box–Muller cache torch keeps in the generator (`next_double_normal_sample_`). */
export interface NormalCache {
  nextDoubleNormal: number | undefined
}

/** `uniform_real_distribution<float>(0, 1)`: 24 random bits of one draw, times 2^-24. */
export function uniformFloat32(engine: Mt19937): number {
  return (engine.nextU32() & 0xffffff) * TWO_POW_MINUS_24
}

/**
 * `uniform_real_distribution<double>(0, 1)`: `random64()` is `(first << 32) | second`;
 * its low 53 bits times 2^-53.
 */
export function uniformFloat64(engine: Mt19937): number {
  const hi = engine.nextU32()
  const lo = engine.nextU32()
  return ((hi & 0x1fffff) * TWO_POW_32 + lo) * TWO_POW_MINUS_53
}

/**
 * `normal_distribution<double>(0, 1)`: one value, returning the cached second value of the
 * previous Box–Muller pair when there is one (`r = sqrt(-2 log1p(-u2))`, `θ = 2π u1`).
 */
export function serialNormal(engine: Mt19937, cache: NormalCache): number {
  const cached = cache.nextDoubleNormal
  if (cached !== undefined) {
    cache.nextDoubleNormal = undefined
    return cached
  }
  const u1 = uniformFloat64(engine)
  const u2 = uniformFloat64(engine)
  // log1p(-u2) == log(1 - u2): 1 - u2 is exact for a 53-bit uniform
  const radius = Math.sqrt(-2 * accurateLog(1 - u2))
  accurateSinCos(2 * Math.PI * u1, libmSinCos)
  cache.nextDoubleNormal = radius * libmSinCos.sin
  return radius * libmSinCos.cos
}

const libmSinCos: SinCosPair = { sin: 0, cos: 0 }

const sincos: SinCos = { sin: 0, cos: 0 }

/**
 * `normal_fill_16_AVX2`: Box–Muller in place on `data[offset .. offset + 16)` holding float
 * uniforms; lanes `j` and `j + 8` (j < 8) form one pair.
 */
export function boxMuller16Float32(data: Float32Array, offset: number): void {
  for (let j = offset; j < offset + 8; j++) {
    const u1 = fround(1 - data[j]!) // [0, 1) -> (0, 1] for the log
    const u2 = data[j + 8]!
    const radius = fround(Math.sqrt(fround(-2 * log256(u1))))
    const theta = fround(TWO_PI_F32 * u2)
    sincos256(theta, sincos)
    // fmadd(n, std = 1, mean = 0) is exact; "+ 0" turns -0 into +0 as the fma does.
    data[j] = fround(radius * sincos.cos) + 0
    data[j + 8] = fround(radius * sincos.sin) + 0
  }
}

/** `normal_fill_16<double>`: Box–Muller in place on 16 double uniforms (glibc-accurate log/sin/cos). */
export function boxMuller16Float64(data: Float64Array, offset: number): void {
  for (let j = offset; j < offset + 8; j++) {
    const u1 = 1 - data[j]!
    const u2 = data[j + 8]!
    const radius = Math.sqrt(-2 * accurateLog(u1))
    accurateSinCos(2 * Math.PI * u2, libmSinCos)
    data[j] = radius * libmSinCos.cos + 0
    data[j + 8] = radius * libmSinCos.sin + 0
  }
}

/**
 * `normal_fill_AVX2` (float32, n >= 16): fill with uniforms, transform each block of 16, then,
 * when n % 16 != 0, redraw 16 uniforms into the last 16 slots and transform them again.
 */
export function normalFillFloat32(engine: Mt19937, data: Float32Array): void {
  const size = data.length
  for (let i = 0; i < size; i++) data[i] = uniformFloat32(engine)
  for (let i = 0; i + 16 <= size; i += 16) boxMuller16Float32(data, i)
  if (size % 16 !== 0) {
    const start = size - 16
    for (let i = start; i < size; i++) data[i] = uniformFloat32(engine)
    boxMuller16Float32(data, start)
  }
}

/** `normal_fill<double>` (n >= 16): same layout as the float32 fill, with double uniforms. */
export function normalFillFloat64(engine: Mt19937, data: Float64Array): void {
  const size = data.length
  for (let i = 0; i < size; i++) data[i] = uniformFloat64(engine)
  for (let i = 0; i + 16 <= size; i += 16) boxMuller16Float64(data, i)
  if (size % 16 !== 0) {
    const start = size - 16
    for (let i = start; i < size; i++) data[i] = uniformFloat64(engine)
    boxMuller16Float64(data, start)
  }
}
