// numpy-compatible timestep spacing and sigma tables, ported from diffusers `scheduling_euler_discrete.py`
// (`set_timesteps`, `_sigma_to_t`, `_convert_to_karras`, `_convert_to_exponential`, `_convert_to_beta`).
// numpy works in float64; torch tables are float32 (rounded with Math.fround where diffusers holds them so).
import { betaPpf } from "./beta-ppf.js"

const f32 = Math.fround

/** `np.linspace(start, stop, num)` (endpoint included) in float64: `i * step + start`, last value `stop`. */
export function npLinspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num)
  const div = num - 1
  const step = div > 0 ? (stop - start) / div : 0
  for (let i = 0; i < num; i++) out[i] = i * step + start
  if (num > 1) out[num - 1] = stop
  return out
}

/** `np.arange(start, stop, step)` for floats: length `ceil((stop - start) / step)`, values `start + i * delta`. */
export function npArange(start: number, stop: number, step: number): Float64Array {
  const length = Math.max(0, Math.ceil((stop - start) / step))
  const out = new Float64Array(length)
  const delta = start + step - start // numpy fills from its first two values
  for (let i = 0; i < length; i++) out[i] = i === 0 ? start : i === 1 ? start + step : start + i * delta
  return out
}

/** numpy `round` (round half to even), as `np.ndarray.round()` does. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x)
  return Math.abs(x - Math.trunc(x)) === 0.5 ? 2 * Math.round(x / 2) : r
}

/** `np.interp(x, xp, fp)` for increasing `xp`, values clamped to the ends, in float64. */
export function npInterp(x: number, xp: ArrayLike<number>, fp: ArrayLike<number>): number {
  const n = xp.length
  if (x <= xp[0]!) return x === xp[0]! || n === 1 ? fp[0]! : fp[0]!
  if (x >= xp[n - 1]!) return fp[n - 1]!
  let lo = 0
  let hi = n - 1
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1
    if (xp[mid]! <= x) lo = mid
    else hi = mid
  }
  if (x === xp[lo]!) return fp[lo]!
  const slope = (fp[lo + 1]! - fp[lo]!) / (xp[lo + 1]! - xp[lo]!)
  const y = slope * (x - xp[lo]!) + fp[lo]!
  return Number.isNaN(y) ? slope * (x - xp[lo + 1]!) + fp[lo + 1]! : y
}

/** `np.log` of a float32 table, kept float32 (as numpy does for float32 arrays). */
export function logF32(values: Float32Array): Float32Array {
  return values.map((v) => f32(Math.log(v)))
}

/**
 * `_sigma_to_t`: the fractional train timestep of a sigma, by linear interpolation in log-sigma.
 * `logSigmas` is the float32 table `np.log(sigmas)` (increasing); the weight's denominator is float32 like numpy's.
 */
export function sigmaToT(sigma: number, logSigmas: Float32Array | Float64Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10))
  let lowIdx = 0
  for (let i = 0; i < logSigmas.length; i++) if (logSigma - logSigmas[i]! >= 0) lowIdx = i
  lowIdx = Math.min(lowIdx, logSigmas.length - 2)
  const low = logSigmas[lowIdx]!
  const high = logSigmas[lowIdx + 1]!
  const denom = logSigmas instanceof Float32Array ? f32(low - high) : low - high
  let w = (low - logSigma) / denom
  w = Math.min(Math.max(w, 0), 1)
  return (1 - w) * lowIdx + w * (lowIdx + 1)
}

/**
 * `_sigma_to_t` evaluated on float32 tensors (KDPM2's midpoint timesteps pass torch float32 values): every
 * operation rounds to float32, and so does the result.
 */
export function sigmaToTF32(sigma: number, logSigmas: Float32Array): number {
  const logSigma = f32(Math.log(Math.max(f32(sigma), f32(1e-10))))
  let lowIdx = 0
  for (let i = 0; i < logSigmas.length; i++) if (f32(logSigma - logSigmas[i]!) >= 0) lowIdx = i
  lowIdx = Math.min(lowIdx, logSigmas.length - 2)
  const low = logSigmas[lowIdx]!
  const high = logSigmas[lowIdx + 1]!
  let w = f32(f32(low - logSigma) / f32(low - high))
  w = Math.min(Math.max(w, 0), 1)
  return f32(f32(f32(1 - w) * lowIdx) + f32(w * (lowIdx + 1)))
}

/** `_convert_to_karras`: `(max^(1/rho) + ramp·(min^(1/rho) − max^(1/rho)))^rho`, float64. */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, numSteps: number, rho = 7.0): Float64Array {
  const ramp = npLinspace(0, 1, numSteps)
  const minInvRho = sigmaMin ** (1 / rho)
  const maxInvRho = sigmaMax ** (1 / rho)
  return ramp.map((r) => (maxInvRho + r * (minInvRho - maxInvRho)) ** rho)
}

/** `_convert_to_exponential`: `exp(linspace(log max, log min, n))`, float64. */
export function exponentialSigmas(sigmaMin: number, sigmaMax: number, numSteps: number): Float64Array {
  return npLinspace(Math.log(sigmaMax), Math.log(sigmaMin), numSteps).map((v) => Math.exp(v))
}

/** `_convert_to_beta`: `min + beta.ppf(1 − linspace(0, 1, n), alpha, beta)·(max − min)`, float64. */
export function betaSigmas(
  sigmaMin: number,
  sigmaMax: number,
  numSteps: number,
  alpha = 0.6,
  beta = 0.6,
): Float64Array {
  return npLinspace(0, 1, numSteps).map((r) => sigmaMin + betaPpf(1 - r, alpha, beta) * (sigmaMax - sigmaMin))
}

/** Which of the three sigma conversions a config asks for (at most one may be set, as diffusers checks). */
export type SigmaConversion = "karras" | "exponential" | "beta" | undefined

/** Applies a sigma conversion between `sigmaMin` and `sigmaMax` (used by every Karras-style scheduler). */
export function convertSigmas(
  conversion: SigmaConversion,
  sigmas: ArrayLike<number>,
  options: { readonly numSteps: number; readonly sigmaMin?: number | null; readonly sigmaMax?: number | null },
): Float64Array {
  const sigmaMin = options.sigmaMin ?? sigmas[sigmas.length - 1]!
  const sigmaMax = options.sigmaMax ?? sigmas[0]!
  if (conversion === "karras") return karrasSigmas(sigmaMin, sigmaMax, options.numSteps)
  if (conversion === "exponential") return exponentialSigmas(sigmaMin, sigmaMax, options.numSteps)
  if (conversion === "beta") return betaSigmas(sigmaMin, sigmaMax, options.numSteps)
  return Float64Array.from(sigmas)
}

/** Reads `use_karras_sigmas` / `use_exponential_sigmas` / `use_beta_sigmas`; returns undefined when none is set. */
export function sigmaConversionOf(config: {
  readonly use_karras_sigmas?: boolean | null | undefined
  readonly use_exponential_sigmas?: boolean | null | undefined
  readonly use_beta_sigmas?: boolean | null | undefined
}): SigmaConversion {
  if (config.use_karras_sigmas) return "karras"
  if (config.use_exponential_sigmas) return "exponential"
  if (config.use_beta_sigmas) return "beta"
  return undefined
}

/** The timestep spacings diffusers accepts. */
export const TIMESTEP_SPACINGS = ["linspace", "leading", "trailing"] as const

/**
 * Integer timesteps of DDIM / DDPM / PNDM-style `set_timesteps` (`astype(np.int64)`), descending:
 * `linspace` = `linspace(0, T−1, n).round()`, `leading` = `arange(n)·(T // n) + steps_offset`,
 * `trailing` = `round(arange(T, 0, −T/n)) − 1`.
 */
export function spacedTimesteps(
  spacing: string,
  numTrainTimesteps: number,
  numInferenceSteps: number,
  stepsOffset = 0,
): number[] {
  if (spacing === "linspace") {
    return Array.from(npLinspace(0, numTrainTimesteps - 1, numInferenceSteps), (v) =>
      Math.trunc(roundHalfEven(v)),
    ).reverse()
  }
  if (spacing === "leading") {
    const stepRatio = Math.floor(numTrainTimesteps / numInferenceSteps)
    return Array.from({ length: numInferenceSteps }, (_, i) => (numInferenceSteps - 1 - i) * stepRatio + stepsOffset)
  }
  const stepRatio = numTrainTimesteps / numInferenceSteps
  return Array.from(npArange(numTrainTimesteps, 0, -stepRatio), (v) => Math.trunc(roundHalfEven(v)) - 1)
}
