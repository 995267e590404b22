// The alpha-based (DDPM-family) tables: betas → alphas_cumprod, plus the shared prediction-type conversion.
import type { Tensor } from "@pagkit/tensor"
import { InvalidSchedulerConfigError, SchedulerArgumentError } from "../errors.js"
import { alphasCumprod, betasFor, rescaleZeroTerminalSnr } from "./betas.js"
import type { BetaConfig } from "./betas.js"
import { mixPerRow } from "./broadcast.js"
import { elementwise, linearCombination } from "./math.js"

/** `alphas_cumprod` of a config (with `rescale_betas_zero_snr` where the class supports it). */
export function alphasCumprodFor(
  config: BetaConfig & { readonly rescale_betas_zero_snr?: boolean | null },
  className: string,
): Float32Array {
  let betas = betasFor(config, className, className === "HeunDiscreteScheduler")
  if (config.rescale_betas_zero_snr) betas = rescaleZeroTerminalSnr(betas)
  return alphasCumprod(betas)
}

/** `alphas_cumprod[t]`; throws unless `t` is a whole train timestep (`what` names the caller in the message). */
export function alphaProdAt(alphasCumprodTable: Float32Array, t: number, what: string): number {
  const value = alphasCumprodTable[t]
  if (!Number.isInteger(t) || value === undefined) {
    throw new SchedulerArgumentError(
      `${what}: timestep ${t} is outside [0, ${alphasCumprodTable.length}). Pass a whole train timestep.`,
    )
  }
  return value
}

/** Inputs of {@link addNoiseAtTrainTimesteps}. */
export interface TrainTimestepNoise {
  readonly original: Tensor<"float32">
  readonly noise: Tensor<"float32">
  /** Whole train timesteps: one, or one per batch row. */
  readonly timesteps: readonly number[]
}

/**
 * DDPM's `add_noise`: `sqrt(ᾱ_t)·x0 + sqrt(1 − ᾱ_t)·noise` per batch row, ᾱ looked up at train timesteps
 * (DDPM, DDIM, PNDM, LCM, TCD). Ported from diffusers `DDPMScheduler.add_noise`.
 */
export function addNoiseAtTrainTimesteps(
  className: string,
  alphasCumprodTable: Float32Array,
  inputs: TrainTimestepNoise,
): Tensor<"float32"> {
  const what = `${className}.addNoise`
  const alphas = inputs.timesteps.map((t) => alphaProdAt(alphasCumprodTable, t, what))
  return mixPerRow(inputs.original, inputs.noise, {
    original: alphas.map((a) => Math.fround(Math.sqrt(a))),
    noise: alphas.map((a) => Math.fround(Math.sqrt(Math.fround(1 - a)))),
    what,
  })
}

/** The prediction types of the DDPM family. */
export const PREDICTION_TYPES = ["epsilon", "sample", "v_prediction"] as const

/**
 * x0 and ε from a model output at `alpha_prod_t` (DDIM `step`): epsilon, sample or v_prediction.
 * Coefficients are float32 like diffusers' 0-d tensors.
 */
export function predictX0AndEpsilon(
  predictionType: string,
  alphaProdT: number,
  modelOutput: Tensor<"float32">,
  sample: Tensor<"float32">,
): { predOriginalSample: Tensor<"float32">; predEpsilon: Tensor<"float32"> } {
  const f32 = Math.fround
  const sqrtAlpha = f32(Math.sqrt(alphaProdT))
  const betaProdT = f32(1 - alphaProdT)
  const sqrtBeta = f32(Math.sqrt(betaProdT))
  const shape = sample.shape
  if (predictionType === "epsilon") {
    return {
      // (sample − √β·ε) / √ᾱ, in this order: at zero terminal SNR ᾱ = 0 and the result is ±inf as in diffusers
      predOriginalSample: elementwise(
        shape,
        sample.data.length,
        (i) => (sample.data[i]! - sqrtBeta * modelOutput.data[i]!) / sqrtAlpha,
      ),
      predEpsilon: modelOutput,
    }
  }
  if (predictionType === "sample") {
    return {
      predOriginalSample: modelOutput,
      predEpsilon: linearCombination(shape, [
        [1 / sqrtBeta, sample.data],
        [-sqrtAlpha / sqrtBeta, modelOutput.data],
      ]),
    }
  }
  if (predictionType === "v_prediction") {
    return {
      predOriginalSample: linearCombination(shape, [
        [sqrtAlpha, sample.data],
        [-sqrtBeta, modelOutput.data],
      ]),
      predEpsilon: linearCombination(shape, [
        [sqrtAlpha, modelOutput.data],
        [sqrtBeta, sample.data],
      ]),
    }
  }
  throw new InvalidSchedulerConfigError(
    `prediction_type "${predictionType}" must be one of "epsilon", "sample" or "v_prediction".`,
  )
}
