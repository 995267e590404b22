// LCMScheduler (latent consistency models), ported from diffusers `schedulers/scheduling_lcm.py`.
import type { Tensor } from "@pagkit/tensor"
import { PREDICTION_TYPES, predictX0AndEpsilon } from "./internal/alphas.js"
import { checkOneOf, resolveConfig } from "./internal/config.js"
import { ConsistencySchedulerBase, consistencyDefaults } from "./internal/consistency.js"
import { checkStepInputs, clampTensor, drawNoise, elementwise, thresholdSample } from "./internal/math.js"
import { TIMESTEP_SPACINGS } from "./internal/sigmas.js"
import type { SchedulerConfig, StepOptions, StepOutput } from "./scheduler.js"

const f32 = Math.fround

export type {
  ConsistencyConfig as LCMConfig,
  ConsistencySetTimestepsOptions as LCMSetTimestepsOptions,
} from "./internal/consistency.js"

/** LCMScheduler's options and their diffusers defaults. */
export const lcmDefaults = consistencyDefaults

/** What {@link LCMScheduler.step} returns: `predOriginalSample` is LCM's `denoised`. */
export interface LCMStepOutput extends StepOutput {
  readonly denoised: Tensor<"float32">
}

/**
 * Multistep consistency sampling for LCM-distilled models: each step predicts the clean sample, then re-noises it
 * to the next timestep (one noise draw per step except the last).
 *
 * @example
 * const scheduler = new LCMScheduler({ beta_schedule: "scaled_linear" })
 * scheduler.setTimesteps(4) // [999, 759, 499, 259]
 */
export class LCMScheduler extends ConsistencySchedulerBase {
  readonly className = "LCMScheduler"
  protected readonly fullGridWhenOverridden = false

  constructor(config: SchedulerConfig = {}) {
    const c = resolveConfig("LCMScheduler", consistencyDefaults, config)
    checkOneOf("LCMScheduler", "prediction_type", c.prediction_type, PREDICTION_TYPES)
    checkOneOf("LCMScheduler", "timestep_spacing", c.timestep_spacing, TIMESTEP_SPACINGS)
    super("LCMScheduler", c)
  }

  /** `get_scalings_for_boundary_condition_discrete`: (c_skip, c_out) with σ_data = 0.5. */
  boundaryScalings(timestep: number): { cSkip: number; cOut: number } {
    const scaled = f32(timestep * this.config.timestep_scaling)
    const denom = f32(f32(scaled * scaled) + 0.25)
    return { cSkip: f32(0.25 / denom), cOut: f32(scaled / f32(Math.sqrt(denom))) }
  }

  step(
    modelOutput: Tensor<"float32">,
    timestep: number,
    sample: Tensor<"float32">,
    options: StepOptions = {},
  ): LCMStepOutput {
    checkStepInputs(this.className, modelOutput, sample)
    this.requireTimesteps()
    const c = this.config
    const index = this.initStepIndex(timestep)
    const prevTimestep = index + 1 < this.timestepTable.length ? this.timestepTable[index + 1]! : timestep
    const alphaProdT = this.alphaAt(timestep)
    const alphaProdTPrev = prevTimestep >= 0 ? this.alphaAt(prevTimestep) : this.finalAlphaCumprod
    const betaProdTPrev = f32(1 - alphaProdTPrev)
    const { cSkip, cOut } = this.boundaryScalings(timestep)
    let predOriginalSample = predictX0AndEpsilon(c.prediction_type, alphaProdT, modelOutput, sample).predOriginalSample
    if (c.thresholding) {
      predOriginalSample = thresholdSample(predOriginalSample, c.dynamic_thresholding_ratio, c.sample_max_value)
    } else if (c.clip_sample) predOriginalSample = clampTensor(predOriginalSample, c.clip_sample_range)
    const x = sample.data
    const x0 = predOriginalSample.data
    const denoised = elementwise(sample.shape, x.length, (i) => f32(cOut * x0[i]!) + f32(cSkip * x[i]!))
    let prevSample = denoised
    if (index !== this.numInferenceSteps! - 1) {
      const noise = drawNoise(modelOutput.shape, options.generator)
      const a = f32(Math.sqrt(alphaProdTPrev))
      const b = f32(Math.sqrt(betaProdTPrev))
      const d = denoised.data
      prevSample = elementwise(sample.shape, x.length, (i) => f32(a * d[i]!) + f32(b * noise[i]!))
    }
    this.stepIndexValue = index + 1
    return { prevSample, predOriginalSample: denoised, denoised }
  }
}
