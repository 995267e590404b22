// Median and spread of timing samples; ratios of medians.
import { BenchError } from "../errors.js"

/** Median and spread of a set of samples (same unit as the samples). */
export interface Summary {
  /** Number of samples. */
  readonly n: number
  readonly median: number
  readonly min: number
  readonly max: number
  /** 25th percentile (linear interpolation between order statistics). */
  readonly p25: number
  /** 75th percentile. */
  readonly p75: number
  /** Interquartile range relative to the median, `(p75 − p25) / median` (0 when the median is 0). */
  readonly relativeSpread: number
}

/**
 * Quantile `q` in [0, 1] of samples sorted ascending, interpolating linearly between neighbours
 * (numpy's default `linear` method).
 * @example
 * quantile([1, 2, 3, 4], 0.5) // 2.5
 */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new BenchError("BENCH_NO_SAMPLES", "quantile of no samples: measure at least one run.")
  if (!(q >= 0 && q <= 1)) throw new BenchError("BENCH_OPTION_INVALID", `quantile must be in [0, 1], found ${q}.`)
  const position = (sorted.length - 1) * q
  const lower = Math.floor(position)
  const upper = Math.ceil(position)
  const low = sorted[lower]!
  return low + (sorted[upper]! - low) * (position - lower)
}

/**
 * Median, quartiles and range of samples.
 * @example
 * summarize([10, 12, 11]).median // 11
 */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new BenchError("BENCH_NO_SAMPLES", "summarize needs at least one sample; increase the number of runs.")
  const sorted = [...samples].sort((a, b) => a - b)
  const median = quantile(sorted, 0.5)
  const p25 = quantile(sorted, 0.25)
  const p75 = quantile(sorted, 0.75)
  return {
    n: sorted.length,
    median,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    p25,
    p75,
    relativeSpread: median === 0 ? 0 : (p75 - p25) / median,
  }
}

/** `a / b`, or `NaN` when `b` is 0 (printed as "n/a"). */
export function ratio(a: number, b: number): number {
  return b === 0 ? Number.NaN : a / b
}

/** Wall and CPU summaries of the same runs. */
export interface TimeSummary {
  readonly wall: Summary
  readonly cpu: Summary
}

/** Summarizes wall and CPU samples (milliseconds) of the same runs. */
export function summarizeTimes(samples: { readonly wall: readonly number[]; readonly cpu: readonly number[] }): TimeSummary {
  return { wall: summarize(samples.wall), cpu: summarize(samples.cpu) }
}
