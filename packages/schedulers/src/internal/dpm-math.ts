// Float32 arithmetic shared by the DPM-Solver family. diffusers runs the step math on 0-d float32 torch tensors
// and float32 latents, rounding after every operation; these helpers reproduce that rounding.
import { InvalidSchedulerConfigError } from "../errors.js"

/** Rounds to float32 (every torch float32 op rounds its result). */
export const f32 = Math.fround

/** `alpha_t, sigma_t` of one sigma (`_sigma_to_alpha_sigma_t`): VP schedule, or flow matching when `flow`. */
export interface AlphaSigma {
  readonly alpha: number
  readonly sigma: number
}

/**
 * `_sigma_to_alpha_sigma_t` in float32: `alpha = 1 / sqrt(sigma² + 1)`, `sigma_t = sigma · alpha`
 * (flow sigmas: `alpha = 1 - sigma`, `sigma_t = sigma`).
 */
export function alphaSigmaOf(sigma: number, flow: boolean): AlphaSigma {
  if (flow) return { alpha: f32(1 - sigma), sigma }
  const alpha = f32(1 / f32(Math.sqrt(f32(f32(sigma * sigma) + 1))))
  return { alpha, sigma: f32(sigma * alpha) }
}

/** `lambda = log(alpha) - log(sigma)` in float32 (`+Infinity` at sigma 0). */
export function lambdaOf(as: AlphaSigma): number {
  return f32(f32(Math.log(as.alpha)) - f32(Math.log(as.sigma)))
}

/** `exp(x)` in float32. */
export function expF(x: number): number {
  return f32(Math.exp(x))
}

/** `expm1(x)` in float32. */
export function expm1F(x: number): number {
  return f32(Math.expm1(x))
}

/** `sqrt(x)` in float32. */
export function sqrtF(x: number): number {
  return f32(Math.sqrt(x))
}

/** `log(x)` in float32. */
export function logF(x: number): number {
  return f32(Math.log(x))
}

/** One term of {@link combine}: a float32 scalar times a float32 array. */
export type Term = readonly [coefficient: number, values: Float32Array]

/**
 * `c0·x0 + c1·x1 + …` elementwise, rounded the way torch evaluates it left to right: each product rounded,
 * then each partial sum. Write `a·x - b·y` as terms `[a, x], [-b, y]` (negation is exact).
 */
export function combine(terms: readonly Term[]): Float32Array {
  const first = terms[0]
  if (first === undefined) throw new InvalidSchedulerConfigError("combine: expected at least one term, found none.")
  const n = first[1].length
  const out = new Float32Array(n)
  const [c0, x0] = first
  for (let i = 0; i < n; i++) out[i] = c0 * x0[i]!
  for (let t = 1; t < terms.length; t++) {
    const [c, x] = terms[t]!
    for (let i = 0; i < n; i++) out[i] = out[i]! + f32(c * x[i]!)
  }
  return out
}

/** `a - b` elementwise in float32. */
export function subtract(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length)
  for (let i = 0; i < a.length; i++) out[i] = a[i]! - b[i]!
  return out
}

/** `c · x` elementwise in float32. */
export function scale(c: number, x: Float32Array): Float32Array {
  const out = new Float32Array(x.length)
  for (let i = 0; i < x.length; i++) out[i] = c * x[i]!
  return out
}

/** `(a - c·b) / d` elementwise in float32, e.g. `x0 = (sample - sigma_t·eps) / alpha_t`. */
export function subScaledDivide(a: Float32Array, c: number, b: Float32Array, d: number): Float32Array {
  const out = new Float32Array(a.length)
  for (let i = 0; i < a.length; i++) out[i] = f32(a[i]! - f32(c * b[i]!)) / d
  return out
}

/** `a·x - b·y` elementwise in float32, e.g. `x0 = alpha_t·sample - sigma_t·v`. */
export function scaledDifference(a: number, x: Float32Array, b: number, y: Float32Array): Float32Array {
  const out = new Float32Array(x.length)
  for (let i = 0; i < x.length; i++) out[i] = f32(a * x[i]!) - f32(b * y[i]!)
  return out
}

/** `torch.quantile(values, q)` with linear interpolation, in float32 (sorts a copy). */
export function quantileF32(values: Float32Array, q: number): number {
  const sorted = Float32Array.from(values).sort()
  const n = sorted.length
  const rank = f32(f32(q) * (n - 1))
  const below = Math.floor(rank)
  const weight = f32(rank - below)
  const lo = sorted[below]!
  const hi = sorted[Math.min(below + 1, n - 1)]!
  // aten lerp: weight < 0.5 ? lo + w·(hi - lo) : hi - (hi - lo)·(1 - w), each a fused multiply-add
  const diff = f32(hi - lo)
  return weight < 0.5 ? f32(lo + weight * diff) : f32(hi - diff * f32(1 - weight))
}

/**
 * `_threshold_sample` (diffusers `DDPMScheduler._threshold_sample`): per batch item, clip to the
 * `ratio`-quantile `s` of |x| (clamped to [1, maxValue]) and divide by `s`. `shape` is `[batch, …]`.
 */
export function thresholdSample(
  sample: Float32Array,
  shape: readonly number[],
  options: { readonly ratio: number; readonly maxValue: number },
): Float32Array {
  const batch = shape[0] ?? 1
  const per = sample.length / batch
  const out = new Float32Array(sample.length)
  for (let b = 0; b < batch; b++) {
    const row = sample.subarray(b * per, (b + 1) * per)
    const s = Math.min(Math.max(quantileF32(row.map(Math.abs), options.ratio), 1), f32(options.maxValue))
    for (let i = 0; i < per; i++) out[b * per + i] = Math.min(Math.max(row[i]!, -s), s) / s
  }
  return out
}
