import { ShapeError } from "../errors.js"
import { Tensor, sameShape } from "../tensor.js"
import { float32Data } from "./cast.js"

// Reductions accumulate in float64 (torch's CPU std/var does too) and round the result to float32.

/** Shape `[N, 1, …, 1]` of a per-sample statistic of `t` (keepdim, so it broadcasts back). */
function perSampleShape(t: Tensor, what: string): number[] {
  if (t.rank < 1) throw new ShapeError(`${what}: expected a tensor with a batch axis, found a scalar ${t.describe()}.`)
  return [t.shape[0]!, ...t.shape.slice(1).map(() => 1)]
}

/** Runs `fn` over each sample's values (all dims but the first). */
function perSample(t: Tensor, what: string, fn: (values: Float32Array) => number): Tensor<"float32"> {
  const shape = perSampleShape(t, what)
  const batch = shape[0]!
  const data = float32Data(t)
  const per = batch === 0 ? 0 : data.length / batch
  const out = new Float32Array(batch)
  for (let n = 0; n < batch; n++) out[n] = fn(data.subarray(n * per, (n + 1) * per))
  return new Tensor("float32", out, shape)
}

function sumOf(values: Float32Array): number {
  let total = 0
  for (let i = 0; i < values.length; i++) total += values[i]!
  return total
}

/**
 * Mean of each sample over all dims but the first, keepdim: `[N, …] -> [N, 1, …, 1]`.
 * Equals torch's `x.mean(dim=list(range(1, x.ndim)), keepdim=True)`.
 */
export function meanPerSample(t: Tensor): Tensor<"float32"> {
  return perSample(t, "meanPerSample", (v) => sumOf(v) / v.length)
}

/** Options of {@link stdPerSample}. */
export interface StdOptions {
  /** Bessel's correction (divide by n − 1), torch's default. Default true. */
  readonly unbiased?: boolean
}

/**
 * Standard deviation of each sample over all dims but the first, keepdim: `[N, …] -> [N, 1, …, 1]`.
 * Equals torch's `x.std(dim=list(range(1, x.ndim)), keepdim=True)` (used by diffusers' `rescale_noise_cfg`).
 */
export function stdPerSample(t: Tensor, options: StdOptions = {}): Tensor<"float32"> {
  const correction = options.unbiased === false ? 0 : 1
  return perSample(t, "stdPerSample", (v) => {
    const mean = sumOf(v) / v.length
    let squares = 0
    for (let i = 0; i < v.length; i++) squares += (v[i]! - mean) ** 2
    return Math.sqrt(squares / Math.max(0, v.length - correction))
  })
}

/** L2 norm of each sample over all dims but the first, keepdim: `[N, …] -> [N, 1, …, 1]`. */
export function normPerSample(t: Tensor): Tensor<"float32"> {
  return perSample(t, "normPerSample", (v) => {
    let squares = 0
    for (let i = 0; i < v.length; i++) squares += v[i]! * v[i]!
    return Math.sqrt(squares)
  })
}

/** Sum of all elements (float64 accumulation). */
export function sum(t: Tensor): number {
  return sumOf(float32Data(t))
}

/** Mean of all elements (NaN for an empty tensor). */
export function mean(t: Tensor): number {
  return t.size === 0 ? Number.NaN : sum(t) / t.size
}

/** Largest absolute value (0 for an empty tensor; NaN if any element is NaN). */
export function maxAbs(t: Tensor): number {
  const data = float32Data(t)
  let best = 0
  for (let i = 0; i < data.length; i++) {
    const v = Math.abs(data[i]!)
    if (Number.isNaN(v)) return Number.NaN
    if (v > best) best = v
  }
  return best
}

function checkSameShape(a: Tensor, b: Tensor, what: string): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new ShapeError(`${what}: expected equal shapes, found ${a.describe()} and ${b.describe()}. Compare tensors of the same shape.`)
  }
}

/**
 * Largest `|a − b|` over all elements; NaN if either holds a NaN (so comparisons fail loudly).
 *
 * @example
 * expect(maxAbsDiff(ours, oracle)).toBeLessThan(1e-5)
 */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  checkSameShape(a, b, "maxAbsDiff")
  const x = float32Data(a)
  const y = float32Data(b)
  let best = 0
  for (let i = 0; i < x.length; i++) {
    const d = x[i] === y[i] ? 0 : Math.abs(x[i]! - y[i]!) // equal infinities differ by 0
    if (Number.isNaN(d)) return Number.NaN
    if (d > best) best = d
  }
  return best
}

/**
 * Relative L2 error ‖a − b‖₂ / ‖b‖₂ (`b` is the reference). 0 when both are zero, Infinity when
 * only `b` is; NaN if either holds a NaN.
 *
 * @example
 * expect(relativeL2(ours, oracle)).toBeLessThan(1e-5)
 */
export function relativeL2(a: Tensor, b: Tensor): number {
  checkSameShape(a, b, "relativeL2")
  const x = float32Data(a)
  const y = float32Data(b)
  let diff = 0
  let reference = 0
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) diff += (x[i]! - y[i]!) ** 2
    reference += y[i]! * y[i]!
  }
  if (reference === 0) return diff === 0 ? 0 : Number.isNaN(diff) ? Number.NaN : Infinity
  return Math.sqrt(diff) / Math.sqrt(reference)
}
