// DDIMScheduler, ported from diffusers `schedulers/scheduling_ddim.py` (`DDIMScheduler`).
import type { Tensor } from "@pagkit/tensor"
import { SchedulerArgumentError } from "./errors.js"
import {
  PREDICTION_TYPES,
  addNoiseAtTrainTimesteps,
  alphaProdAt,
  alphasCumprodFor,
  predictX0AndEpsilon,
} from "./internal/alphas.js"
import { SchedulerBase, checkInferenceSteps, normalizeSetTimesteps } from "./internal/base.js"
import { checkOneOf, resolveConfig } from "./internal/config.js"
import { checkStepInputs, clampTensor, drawNoise, linearCombination, thresholdSample } from "./internal/math.js"
import { TIMESTEP_SPACINGS, spacedTimesteps } from "./internal/sigmas.js"
import type { SchedulerConfig, SetTimestepsOptions, StepOptions, StepOutput } from "./scheduler.js"

/** DDIMScheduler's options and their diffusers defaults. */
export const ddimDefaults = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "linear",
  trained_betas: null as readonly number[] | null,
  clip_sample: true,
  set_alpha_to_one: true,
  steps_offset: 0,
  prediction_type: "epsilon",
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  clip_sample_range: 1.0,
  sample_max_value: 1.0,
  timestep_spacing: "leading",
  rescale_betas_zero_snr: false,
}

/** Resolved DDIMScheduler config. */
export type DDIMConfig = typeof ddimDefaults

/** Extra options of {@link DDIMScheduler.step}. */
export interface DDIMStepOptions extends StepOptions {
  /** η: 0 is deterministic DDIM, 1 is DDPM-like. Default 0. */
  readonly eta?: number
  /** Recompute the noise from the clipped x₀ prediction (`use_clipped_model_output`); default false. */
  readonly useClippedModelOutput?: boolean
  /** Noise to use instead of drawing from the generator (`variance_noise`). */
  readonly varianceNoise?: Tensor<"float32">
}

/**
 * Denoising diffusion implicit models (DDIM).
 *
 * @example
 * const scheduler = new DDIMScheduler({ beta_schedule: "scaled_linear", steps_offset: 1 })
 * scheduler.setTimesteps(30)
 */
export class DDIMScheduler extends SchedulerBase<DDIMConfig> {
  readonly className = "DDIMScheduler"
  /** `alphas_cumprod` (float32). */
  readonly alphasCumprod: Float32Array
  readonly finalAlphaCumprod: number

  constructor(config: SchedulerConfig = {}) {
    const resolved = resolveConfig("DDIMScheduler", ddimDefaults, config)
    checkOneOf("DDIMScheduler", "prediction_type", resolved.prediction_type, PREDICTION_TYPES)
    checkOneOf("DDIMScheduler", "timestep_spacing", resolved.timestep_spacing, TIMESTEP_SPACINGS)
    super(resolved)
    this.alphasCumprod = alphasCumprodFor(resolved, this.className)
    this.finalAlphaCumprod = resolved.set_alpha_to_one ? 1 : this.alphasCumprod[0]!
    this.timestepTable = Array.from(
      { length: resolved.num_train_timesteps },
      (_, i) => resolved.num_train_timesteps - 1 - i,
    )
  }

  setTimesteps(options: number | SetTimestepsOptions): void {
    const { numInferenceSteps } = normalizeSetTimesteps(options)
    const c = this.config
    const n = checkInferenceSteps(this.className, numInferenceSteps, c.num_train_timesteps)
    this.numInferenceSteps = n
    this.timestepTable = spacedTimesteps(c.timestep_spacing, c.num_train_timesteps, n, c.steps_offset)
  }

  /** `_get_variance(timestep, prev_timestep)`. */
  protected variance(timestep: number, prevTimestep: number): number {
    const f32 = Math.fround
    const alphaProdT = this.alphasCumprod[timestep]!
    const alphaProdTPrev = prevTimestep >= 0 ? this.alphasCumprod[prevTimestep]! : this.finalAlphaCumprod
    const betaProdT = f32(1 - alphaProdT)
    const betaProdTPrev = f32(1 - alphaProdTPrev)
    return f32(f32(betaProdTPrev / betaProdT) * f32(1 - f32(alphaProdT / alphaProdTPrev)))
  }

  step(
    modelOutput: Tensor<"float32">,
    timestep: number,
    sample: Tensor<"float32">,
    options: DDIMStepOptions = {},
  ): StepOutput {
    checkStepInputs(this.className, modelOutput, sample)
    this.requireTimesteps()
    const c = this.config
    const f32 = Math.fround
    if (!Number.isInteger(timestep) || timestep < 0 || timestep >= c.num_train_timesteps) {
      throw new SchedulerArgumentError(
        `${this.className}.step: timestep should be a whole number in [0, ${c.num_train_timesteps}), found ${timestep}.`,
      )
    }
    const eta = options.eta ?? 0
    const prevTimestep = timestep - Math.floor(c.num_train_timesteps / this.numInferenceSteps!)
    const alphaProdT = this.alphasCumprod[timestep]!
    const alphaProdTPrev = prevTimestep >= 0 ? this.alphasCumprod[prevTimestep]! : this.finalAlphaCumprod
    const betaProdT = f32(1 - alphaProdT)
    let { predOriginalSample, predEpsilon } = predictX0AndEpsilon(c.prediction_type, alphaProdT, modelOutput, sample)
    if (c.thresholding) {
      predOriginalSample = thresholdSample(predOriginalSample, c.dynamic_thresholding_ratio, c.sample_max_value)
    } else if (c.clip_sample) {
      predOriginalSample = clampTensor(predOriginalSample, c.clip_sample_range)
    }
    const stdDevT = eta * Math.sqrt(this.variance(timestep, prevTimestep))
    if (options.useClippedModelOutput) {
      predEpsilon = linearCombination(sample.shape, [
        [1 / Math.sqrt(betaProdT), sample.data],
        [-Math.sqrt(alphaProdT) / Math.sqrt(betaProdT), predOriginalSample.data],
      ])
    }
    const directionCoeff = Math.sqrt(f32(1 - alphaProdTPrev - stdDevT * stdDevT))
    const terms: [number, Float32Array][] = [
      [f32(Math.sqrt(alphaProdTPrev)), predOriginalSample.data],
      [directionCoeff, predEpsilon.data],
    ]
    if (eta > 0) {
      if (options.varianceNoise !== undefined && options.generator !== undefined) {
        throw new SchedulerArgumentError(`${this.className}.step: pass either generator or varianceNoise, not both.`)
      }
      const noise = options.varianceNoise?.data ?? drawNoise(modelOutput.shape, options.generator)
      terms.push([stdDevT, noise])
    }
    return { prevSample: linearCombination(sample.shape, terms), predOriginalSample }
  }

  addNoise(original: Tensor<"float32">, noise: Tensor<"float32">, timesteps: readonly number[]): Tensor<"float32"> {
    return addNoiseAtTrainTimesteps(this.className, this.alphasCumprod, { original, noise, timesteps })
  }

  /** `alphas_cumprod[t]`, with a clear error for timesteps outside the table. */
  protected alphaAt(t: number): number {
    return alphaProdAt(this.alphasCumprod, t, this.className)
  }
}
