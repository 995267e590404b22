// The timestep and sigma tables of the Karras-style discrete schedulers (Euler, Euler ancestral, LMS, Heun,
// KDPM2): spacing → sigma by interpolation → optional Karras / exponential / beta conversion.
// Ported from diffusers `scheduling_euler_discrete.py` `EulerDiscreteScheduler.set_timesteps`.
import { sigmasFromAlphasCumprod } from "./betas.js"
import { convertSigmas, logF32, npArange, npInterp, npLinspace, roundHalfEven, sigmaToT } from "./sigmas.js"
import type { SigmaConversion } from "./sigmas.js"

/**
 * Float timesteps of the Euler-family `set_timesteps` (float32 values): `linspace` = `linspace(0, T−1, n)` (not
 * rounded), `leading` = `arange(n)·(T // n) + steps_offset`, `trailing` = `round(arange(T, 0, −T/n)) − 1`.
 */
export function eulerSpacedTimesteps(
  spacing: string,
  numTrainTimesteps: number,
  n: number,
  stepsOffset: number,
): Float32Array {
  if (spacing === "linspace") return Float32Array.from(npLinspace(0, numTrainTimesteps - 1, n)).reverse()
  if (spacing === "leading") {
    const stepRatio = Math.floor(numTrainTimesteps / n)
    return Float32Array.from({ length: n }, (_, i) => (n - 1 - i) * stepRatio + stepsOffset)
  }
  return Float32Array.from(npArange(numTrainTimesteps, 0, -numTrainTimesteps / n), (v) => roundHalfEven(v) - 1)
}

/** Inputs of {@link karrasStyleTables}. */
export interface KarrasTableOptions {
  readonly alphasCumprod: Float32Array
  readonly numInferenceSteps: number
  /** Spaced timesteps (float32 values) the sigmas are interpolated at. */
  readonly timesteps: Float32Array
  readonly conversion: SigmaConversion
  readonly sigmaMin?: number | null
  readonly sigmaMax?: number | null
  /** `log_linear` replaces the interpolation by `torch.linspace(log σ_min, log σ_max, n + 1).exp()`. */
  readonly interpolation?: "linear" | "log_linear"
}

/** Sigma and timestep tables before the final sigma is appended (both float64, as numpy holds them). */
export interface KarrasTables {
  /** `((1 − ᾱ) / ᾱ)^0.5` of every train timestep, float32. */
  readonly trainSigmas: Float32Array
  /** `np.log(trainSigmas)`, float32. */
  readonly logSigmas: Float32Array
  readonly sigmas: Float64Array
  readonly timesteps: Float64Array
}

/** Interpolates sigmas at the spaced timesteps and applies the configured conversion (with `_sigma_to_t`). */
export function karrasStyleTables(options: KarrasTableOptions): KarrasTables {
  const trainSigmas = sigmasFromAlphasCumprod(options.alphasCumprod)
  const logSigmas = logF32(trainSigmas)
  const steps = Float64Array.from(options.timesteps)
  const trainIndex = Float64Array.from({ length: trainSigmas.length }, (_, i) => i)
  let sigmas: Float64Array
  if (options.interpolation === "log_linear") {
    // torch.linspace(np.log(σ[-1]), np.log(σ[0]), n + 1).exp() in float32
    const n = options.numInferenceSteps + 1
    const start = logSigmas[logSigmas.length - 1]!
    const end = logSigmas[0]!
    const step = Math.fround(Math.fround(end - start) / (n - 1))
    const half = Math.floor(n / 2)
    sigmas = Float64Array.from({ length: n }, (_, i) => {
      const v =
        i < half ? Math.fround(start + Math.fround(step * i)) : Math.fround(end - Math.fround(step * (n - i - 1)))
      return Math.fround(Math.exp(v))
    })
  } else {
    sigmas = steps.map((t) => npInterp(t, trainIndex, trainSigmas))
  }
  let timesteps = steps
  if (options.conversion !== undefined) {
    sigmas = convertSigmas(options.conversion, sigmas, {
      numSteps: options.numInferenceSteps,
      sigmaMin: options.sigmaMin ?? null,
      sigmaMax: options.sigmaMax ?? null,
    })
    timesteps = sigmas.map((s) => sigmaToT(s, logSigmas))
  }
  return { trainSigmas, logSigmas, sigmas, timesteps }
}

/** `cat([x[:1], x[1:].repeat_interleave(2)])`: the second-order schedulers visit every inner value twice. */
export function interleaveTail(values: ArrayLike<number>): number[] {
  const out: number[] = [values[0]!]
  for (let i = 1; i < values.length; i++) out.push(values[i]!, values[i]!)
  return out
}

/** `cat([σ[:1], σ[1:-1].repeat_interleave(2), σ[-1:]])`. */
export function interleaveMiddle(values: ArrayLike<number>): number[] {
  const out: number[] = [values[0]!]
  for (let i = 1; i < values.length - 1; i++) out.push(values[i]!, values[i]!)
  out.push(values[values.length - 1]!)
  return out
}
