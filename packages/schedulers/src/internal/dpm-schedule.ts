// Train-time tables and `set_timesteps` pieces shared by the VP schedulers of the DPM family. Ported from
// diffusers `scheduling_dpmsolver_multistep.py` (`__init__`, `set_timesteps`, `_convert_to_lu`); the other
// DPM-family files copy the same code with small variations, which the callers choose.
import { InvalidSchedulerConfigError, SchedulerArgumentError } from "../errors.js"
import { alphasCumprod, betasFor, rescaleZeroTerminalSnr, sigmasFromAlphasCumprod } from "./betas.js"
import type { BetaConfig } from "./betas.js"
import { f32 } from "./dpm-math.js"
import { convertSigmas, logF32, npArange, npInterp, npLinspace, roundHalfEven, sigmaToT } from "./sigmas.js"

/** The float32 tables a VP scheduler builds in `__init__`. */
export interface VpTables {
  /** `alphas_cumprod`, [num_train_timesteps]. */
  readonly alphasCumprod: Float32Array
  /** `((1 - ac) / ac) ** 0.5`, increasing with t. */
  readonly trainSigmas: Float32Array
  /** `np.log(trainSigmas)` (float32). */
  readonly logSigmas: Float32Array
  /** `lambda_t = log(sqrt(ac)) - log(sqrt(1 - ac))` (float32). */
  readonly lambdas: Float32Array
}

/** Builds {@link VpTables} from the beta options (`rescaleZeroSnr` sets the last `alphas_cumprod` to 2^-24). */
export function vpTables(config: BetaConfig, className: string, rescaleZeroSnr = false): VpTables {
  let betas = betasFor(config, className)
  if (rescaleZeroSnr) betas = rescaleZeroTerminalSnr(betas)
  const cumprod = alphasCumprod(betas)
  if (rescaleZeroSnr) cumprod[cumprod.length - 1] = 2 ** -24
  const trainSigmas = sigmasFromAlphasCumprod(cumprod)
  const lambdas = cumprod.map((a) => f32(f32(Math.log(f32(Math.sqrt(a)))) - f32(Math.log(f32(Math.sqrt(f32(1 - a)))))))
  return { alphasCumprod: cumprod, trainSigmas, logSigmas: logF32(trainSigmas), lambdas }
}

/** `num_train_timesteps - searchsorted(flip(lambda_t), lambda_min_clipped)`: the last usable train timestep + 1. */
export function clippedLastTimestep(lambdas: Float32Array, lambdaMinClipped: number): number {
  let below = 0
  for (let i = lambdas.length - 1; i >= 0; i--) if (lambdas[i]! < lambdaMinClipped) below++
  return lambdas.length - below
}

/** Options of {@link spacedTimesteps}. */
export interface SpacingOptions {
  readonly spacing: string
  readonly numTrainTimesteps: number
  /** `last_timestep` (num_train_timesteps unless lambda_min_clipped cuts the end). */
  readonly lastTimestep: number
  readonly numInferenceSteps: number
  readonly stepsOffset: number
}

/** The `linspace` / `leading` / `trailing` integer timesteps of diffusers' DPM-family `set_timesteps`, decreasing. */
export function spacedTimesteps(options: SpacingOptions): number[] {
  const { spacing, numTrainTimesteps, lastTimestep, numInferenceSteps: n, stepsOffset } = options
  if (spacing === "linspace") {
    const values = Array.from(npLinspace(0, lastTimestep - 1, n + 1), roundHalfEven)
    return values.reverse().slice(0, n)
  }
  if (spacing === "leading") {
    const stepRatio = Math.floor(lastTimestep / (n + 1))
    const values = Array.from({ length: n + 1 }, (_, i) => roundHalfEven(i * stepRatio))
    return values.reverse().slice(0, n).map((t) => t + stepsOffset)
  }
  if (spacing === "trailing") {
    const stepRatio = numTrainTimesteps / n
    return Array.from(npArange(lastTimestep, 0, -stepRatio), (t) => Math.trunc(roundHalfEven(t)) - 1)
  }
  throw new InvalidSchedulerConfigError(
    `timestep_spacing "${spacing}" is not supported. Choose one of "linspace", "leading" or "trailing".`,
  )
}

/** How the inference sigmas are made from the train sigmas. */
export type SigmaMethod = "interp" | "karras" | "lu" | "exponential" | "beta" | "flow"

/** Options of {@link inferenceSigmas}. */
export interface InferenceSigmaOptions {
  readonly method: SigmaMethod
  readonly tables: VpTables
  /** The spaced integer timesteps (used by `interp`). */
  readonly timesteps: readonly number[]
  readonly numInferenceSteps: number
  readonly numTrainTimesteps: number
  /** Round the timesteps of `karras` / `lu` sigmas (diffusers does unless the schedule is cosine). */
  readonly roundTimesteps: boolean
  readonly flowShift?: number
  readonly sigmaMin?: number | null
  readonly sigmaMax?: number | null
}

/** Sigmas (float64, before the final one is appended) and matching fractional timesteps. */
export interface InferenceSchedule {
  readonly sigmas: Float64Array
  readonly timesteps: Float64Array
}

/** The sigma branch of diffusers' DPM-family `set_timesteps` (karras / lu / exponential / beta / flow / interp). */
export function inferenceSigmas(options: InferenceSigmaOptions): InferenceSchedule {
  const { method, tables, numInferenceSteps: n } = options
  const toT = (sigmas: Float64Array, round: boolean): Float64Array =>
    sigmas.map((s) => {
      const t = sigmaToT(s, tables.logSigmas)
      return round ? roundHalfEven(t) : t
    })
  if (method === "interp") {
    const xp = Float64Array.from(tables.trainSigmas, (_, i) => i)
    const sigmas = Float64Array.from(options.timesteps, (t) => npInterp(t, xp, tables.trainSigmas))
    return { sigmas, timesteps: Float64Array.from(options.timesteps) }
  }
  if (method === "lu") {
    const lambdaMax = tables.logSigmas[tables.logSigmas.length - 1]!
    const lambdaMin = tables.logSigmas[0]!
    const lambdas = npLinspace(0, 1, n).map((r) => lambdaMax + r * (lambdaMin - lambdaMax))
    const sigmas = lambdas.map(Math.exp)
    return { sigmas, timesteps: toT(sigmas, options.roundTimesteps) }
  }
  if (method === "flow") {
    const shift = options.flowShift ?? 1
    const alphas = npLinspace(1, 1 / options.numTrainTimesteps, n + 1)
    const shifted = alphas.map((a) => {
      const s = 1 - a
      return (shift * s) / (1 + (shift - 1) * s)
    })
    const sigmas = shifted.reverse().slice(0, n)
    return { sigmas, timesteps: sigmas.map((s) => s * options.numTrainTimesteps) }
  }
  const descending = Float64Array.from(tables.trainSigmas).reverse()
  const sigmas = convertSigmas(method, descending, {
    numSteps: n,
    sigmaMin: options.sigmaMin ?? null,
    sigmaMax: options.sigmaMax ?? null,
  })
  return { sigmas, timesteps: toT(sigmas, method === "karras" && options.roundTimesteps) }
}

/** The sigma method a config asks for, checking diffusers' "only one of" rule. */
export function sigmaMethodOf(config: Readonly<Record<string, unknown>>, className: string): SigmaMethod {
  const flags = ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"].filter((k) => config[k] === true)
  if (flags.length > 1) {
    throw new InvalidSchedulerConfigError(
      `${className}: only one of use_karras_sigmas, use_exponential_sigmas, use_beta_sigmas can be true; found ${flags.join(", ")}. Keep one.`,
    )
  }
  if (config["use_karras_sigmas"] === true) return "karras"
  if (config["use_lu_lambdas"] === true) return "lu"
  if (config["use_exponential_sigmas"] === true) return "exponential"
  if (config["use_beta_sigmas"] === true) return "beta"
  if (config["use_flow_sigmas"] === true) return "flow"
  return "interp"
}

/** `torch.from_numpy(t).to(torch.int64)`: truncates fractional timesteps toward zero. */
export function toInt64Timesteps(timesteps: ArrayLike<number>): number[] {
  return Array.from(timesteps, (t) => Math.trunc(t))
}

/** Validates a step count against the train schedule. */
export function checkStepCount(className: string, numInferenceSteps: number | undefined, numTrain: number): number {
  if (numInferenceSteps === undefined || !Number.isInteger(numInferenceSteps) || numInferenceSteps < 1) {
    throw new SchedulerArgumentError(
      `${className}.setTimesteps: expected a positive integer step count, found ${String(numInferenceSteps)}.`,
    )
  }
  if (numInferenceSteps > numTrain) {
    throw new SchedulerArgumentError(
      `${className}.setTimesteps: ${numInferenceSteps} steps exceed num_train_timesteps (${numTrain}). Use at most ${numTrain} steps.`,
    )
  }
  return numInferenceSteps
}
