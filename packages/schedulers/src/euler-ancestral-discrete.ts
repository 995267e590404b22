// EulerAncestralDiscreteScheduler, ported from diffusers `schedulers/scheduling_euler_ancestral_discrete.py`.
import type { Tensor } from "@pagkit/tensor"
import { alphasCumprodFor } from "./internal/alphas.js"
import { checkInferenceSteps, normalizeSetTimesteps } from "./internal/base.js"
import { sigmasFromAlphasCumprod } from "./internal/betas.js"
import { checkOneOf, resolveConfig } from "./internal/config.js"
import { KarrasSchedulerBase, karrasPredictX0 } from "./internal/karras-base.js"
import { eulerSpacedTimesteps, karrasStyleTables } from "./internal/karras-tables.js"
import { checkStepInputs, drawNoise, elementwise } from "./internal/math.js"
import { TIMESTEP_SPACINGS } from "./internal/sigmas.js"
import type { SchedulerConfig, SetTimestepsOptions, StepOptions, StepOutput } from "./scheduler.js"

const f32 = Math.fround

/** EulerAncestralDiscreteScheduler's options and their diffusers defaults. */
export const eulerAncestralDiscreteDefaults = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "linear",
  trained_betas: null as readonly number[] | null,
  prediction_type: "epsilon",
  timestep_spacing: "linspace",
  steps_offset: 0,
  rescale_betas_zero_snr: false,
}

/** Resolved EulerAncestralDiscreteScheduler config. */
export type EulerAncestralDiscreteConfig = typeof eulerAncestralDiscreteDefaults

/**
 * Ancestral Euler sampler: an Euler step to σ_down, then fresh noise of scale σ_up (one draw per step).
 *
 * @example
 * const scheduler = new EulerAncestralDiscreteScheduler({ beta_schedule: "scaled_linear" })
 * scheduler.setTimesteps(20)
 * const { prevSample } = scheduler.step(noisePred, t, latents, { generator: new TorchGenerator(0) })
 */
export class EulerAncestralDiscreteScheduler extends KarrasSchedulerBase<EulerAncestralDiscreteConfig> {
  readonly className = "EulerAncestralDiscreteScheduler"
  readonly alphasCumprod: Float32Array

  constructor(config: SchedulerConfig = {}) {
    const c = resolveConfig("EulerAncestralDiscreteScheduler", eulerAncestralDiscreteDefaults, config)
    checkOneOf("EulerAncestralDiscreteScheduler", "prediction_type", c.prediction_type, ["epsilon", "v_prediction"])
    checkOneOf("EulerAncestralDiscreteScheduler", "timestep_spacing", c.timestep_spacing, TIMESTEP_SPACINGS)
    super(c)
    this.alphasCumprod = alphasCumprodFor(c, this.className)
    if (c.rescale_betas_zero_snr) this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24
    this.sigmaTable = [...Array.from(sigmasFromAlphasCumprod(this.alphasCumprod)).reverse(), 0]
    this.timestepTable = Array.from({ length: c.num_train_timesteps }, (_, i) => c.num_train_timesteps - 1 - i)
    this.updateInitNoiseSigma()
  }

  setTimesteps(options: number | SetTimestepsOptions): void {
    const c = this.config
    const n = checkInferenceSteps(
      this.className,
      normalizeSetTimesteps(options).numInferenceSteps,
      c.num_train_timesteps,
    )
    this.numInferenceSteps = n
    const timesteps = eulerSpacedTimesteps(c.timestep_spacing, c.num_train_timesteps, n, c.steps_offset)
    const tables = karrasStyleTables({
      alphasCumprod: this.alphasCumprod,
      numInferenceSteps: n,
      timesteps,
      conversion: undefined,
    })
    this.sigmaTable = Array.from(Float32Array.from([...tables.sigmas, 0]))
    this.timestepTable = Array.from(timesteps)
    this.stepIndexValue = undefined
    this.beginIndexValue = undefined
    this.updateInitNoiseSigma()
  }

  step(
    modelOutput: Tensor<"float32">,
    timestep: number,
    sample: Tensor<"float32">,
    options: StepOptions = {},
  ): StepOutput {
    checkStepInputs(this.className, modelOutput, sample)
    this.requireTimesteps()
    const sigma = this.currentSigma(timestep)
    const index = this.stepIndexValue!
    const predOriginalSample = karrasPredictX0(this.className, this.config.prediction_type, sigma, modelOutput, sample)
    const sigmaFrom = sigma
    const sigmaTo = this.sigmaTable![index + 1]!
    const sigmaToSq = f32(sigmaTo * sigmaTo)
    const sigmaFromSq = f32(sigmaFrom * sigmaFrom)
    const sigmaUp = f32(Math.sqrt(f32(f32(sigmaToSq * f32(sigmaFromSq - sigmaToSq)) / sigmaFromSq)))
    const sigmaDown = f32(Math.sqrt(f32(sigmaToSq - f32(sigmaUp * sigmaUp))))
    const dt = f32(sigmaDown - sigma)
    const noise = drawNoise(modelOutput.shape, options.generator)
    const x = sample.data
    const x0 = predOriginalSample.data
    const prevSample = elementwise(sample.shape, x.length, (i) => {
      const eulerStep = f32(x[i]! + f32(f32(f32(x[i]! - x0[i]!) / sigma) * dt))
      return eulerStep + f32(noise[i]! * sigmaUp)
    })
    this.stepIndexValue = index + 1
    return { prevSample, predOriginalSample }
  }
}
