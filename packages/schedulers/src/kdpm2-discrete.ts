// KDPM2DiscreteScheduler and KDPM2AncestralDiscreteScheduler, ported from diffusers
// `schedulers/scheduling_k_dpm_2_discrete.py` and `scheduling_k_dpm_2_ancestral_discrete.py`.
import type { Tensor } from "@pagkit/tensor"
import { alphasCumprodFor } from "./internal/alphas.js"
import { checkInferenceSteps, normalizeSetTimesteps } from "./internal/base.js"
import { checkOneOf, checkSingleSigmaConversion, resolveConfig } from "./internal/config.js"
import { KarrasSchedulerBase, karrasPredictX0 } from "./internal/karras-base.js"
import { eulerSpacedTimesteps } from "./internal/karras-tables.js"
import { kdpm2Tables, pyAt } from "./internal/kdpm2-tables.js"
import type { Kdpm2Tables } from "./internal/kdpm2-tables.js"
import { checkStepInputs, drawNoise, elementwise } from "./internal/math.js"
import { TIMESTEP_SPACINGS, sigmaConversionOf } from "./internal/sigmas.js"
import type { SchedulerConfig, SetTimestepsOptions, StepOptions, StepOutput } from "./scheduler.js"

const f32 = Math.fround

/** Options of both KDPM2 schedulers and their diffusers defaults. */
export const kdpm2Defaults = {
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: "linear",
  trained_betas: null as readonly number[] | null,
  use_karras_sigmas: false as boolean | null,
  use_exponential_sigmas: false as boolean | null,
  use_beta_sigmas: false as boolean | null,
  prediction_type: "epsilon",
  timestep_spacing: "linspace",
  steps_offset: 0,
}

/** Resolved KDPM2 config. */
export type KDPM2Config = typeof kdpm2Defaults

abstract class Kdpm2Base extends KarrasSchedulerBase<KDPM2Config> {
  readonly alphasCumprod: Float32Array
  protected tables: Kdpm2Tables | undefined = undefined
  /** The sample saved by the first half of a step (`self.sample`). */
  protected savedSample: Float32Array | undefined = undefined
  protected abstract readonly ancestral: boolean

  constructor(className: string, config: SchedulerConfig) {
    const c = resolveConfig(className, kdpm2Defaults, config)
    checkSingleSigmaConversion(className, c)
    checkOneOf(className, "prediction_type", c.prediction_type, ["epsilon", "v_prediction"])
    checkOneOf(className, "timestep_spacing", c.timestep_spacing, TIMESTEP_SPACINGS)
    super(c)
    this.order = 2
    this.alphasCumprod = alphasCumprodFor(c, className)
  }

  /** True when the next call is the first half of a KDPM2 step. */
  get stateInFirstOrder(): boolean {
    return this.savedSample === undefined
  }

  setTimesteps(options: number | SetTimestepsOptions): void {
    const c = this.config
    const n = checkInferenceSteps(
      this.className,
      normalizeSetTimesteps(options).numInferenceSteps,
      c.num_train_timesteps,
    )
    this.numInferenceSteps = n
    this.tables = kdpm2Tables({
      alphasCumprod: this.alphasCumprod,
      numInferenceSteps: n,
      spaced: eulerSpacedTimesteps(c.timestep_spacing, c.num_train_timesteps, n, c.steps_offset),
      conversion: sigmaConversionOf(c),
      ancestral: this.ancestral,
    })
    this.sigmaTable = this.tables.sigmas
    this.timestepTable = this.tables.timesteps
    this.savedSample = undefined
    this.stepIndexValue = undefined
    this.beginIndexValue = undefined
    this.updateInitNoiseSigma()
  }

  /** σ the model input is scaled by: σ in the first half, the midpoint σ in the second. */
  protected abstract inputSigma(index: number): number

  override scaleModelInput(sample: Tensor<"float32">, timestep: number): Tensor<"float32"> {
    this.requireTimesteps()
    const sigma = this.inputSigma(this.initStepIndex(timestep))
    const scale = f32(Math.sqrt(f32(f32(sigma * sigma) + 1)))
    return elementwise(sample.shape, sample.data.length, (i) => sample.data[i]! / scale)
  }
}

/**
 * KDPM2 (DPM-Solver-2, Karras et al. 2022): a second-order step through the log-midpoint σ; `order` 2.
 *
 * @example
 * const scheduler = new KDPM2DiscreteScheduler({ beta_schedule: "scaled_linear" })
 * scheduler.setTimesteps(10) // 19 timesteps
 */
export class KDPM2DiscreteScheduler extends Kdpm2Base {
  readonly className = "KDPM2DiscreteScheduler"
  protected readonly ancestral = false

  constructor(config: SchedulerConfig = {}) {
    super("KDPM2DiscreteScheduler", config)
    this.setTimesteps(this.config.num_train_timesteps)
  }

  protected inputSigma(index: number): number {
    return this.stateInFirstOrder ? this.tables!.sigmas[index]! : pyAt(this.tables!.sigmasInterpol, index)
  }

  step(
    modelOutput: Tensor<"float32">,
    timestep: number,
    sample: Tensor<"float32">,
    _options: StepOptions = {},
  ): StepOutput {
    checkStepInputs(this.className, modelOutput, sample)
    this.requireTimesteps()
    const t = this.tables!
    const index = this.initStepIndex(timestep)
    const first = this.stateInFirstOrder
    const sigma = first ? t.sigmas[index]! : t.sigmas[index - 1]!
    const sigmaInterpol = first ? t.sigmasInterpol[index + 1]! : t.sigmasInterpol[index]!
    const sigmaNext = first ? t.sigmas[index + 1]! : t.sigmas[index]!
    const sigmaHat = sigma
    const sigmaInput = first ? sigmaHat : sigmaInterpol
    const predOriginalSample = karrasPredictX0(
      this.className,
      this.config.prediction_type,
      sigmaInput,
      modelOutput,
      sample,
    )
    const x = sample.data
    const x0 = predOriginalSample.data
    const divisor = first ? sigmaHat : sigmaInterpol
    const dt = first ? f32(sigmaInterpol - sigmaHat) : f32(sigmaNext - sigmaHat)
    const start = first ? x : this.savedSample!
    this.savedSample = first ? x : undefined
    this.stepIndexValue = index + 1
    const prevSample = elementwise(
      sample.shape,
      x.length,
      (i) => start[i]! + f32(f32(f32(x[i]! - x0[i]!) / divisor) * dt),
    )
    return { prevSample, predOriginalSample }
  }
}

/**
 * KDPM2 ancestral: KDPM2 towards σ_down plus fresh noise of scale σ_up on every second half; `order` 2.
 *
 * @example
 * const scheduler = new KDPM2AncestralDiscreteScheduler({ beta_schedule: "scaled_linear" })
 * scheduler.setTimesteps(10)
 */
export class KDPM2AncestralDiscreteScheduler extends Kdpm2Base {
  readonly className = "KDPM2AncestralDiscreteScheduler"
  protected readonly ancestral = true

  constructor(config: SchedulerConfig = {}) {
    super("KDPM2AncestralDiscreteScheduler", config)
    this.setTimesteps(this.config.num_train_timesteps)
  }

  protected inputSigma(index: number): number {
    return this.stateInFirstOrder ? this.tables!.sigmas[index]! : pyAt(this.tables!.sigmasInterpol, index - 1)
  }

  step(
    modelOutput: Tensor<"float32">,
    timestep: number,
    sample: Tensor<"float32">,
    options: StepOptions = {},
  ): StepOutput {
    checkStepInputs(this.className, modelOutput, sample)
    this.requireTimesteps()
    const t = this.tables!
    const index = this.initStepIndex(timestep)
    const first = this.stateInFirstOrder
    const sigma = first ? t.sigmas[index]! : pyAt(t.sigmas, index - 1)
    const sigmaInterpol = first ? t.sigmasInterpol[index]! : pyAt(t.sigmasInterpol, index - 1)
    const sigmaUp = first ? t.sigmasUp[index]! : pyAt(t.sigmasUp, index - 1)
    const sigmaDown = pyAt(t.sigmasDown, index - 1)
    const sigmaHat = sigma
    const sigmaInput = first ? sigmaHat : sigmaInterpol
    const predOriginalSample = karrasPredictX0(
      this.className,
      this.config.prediction_type,
      sigmaInput,
      modelOutput,
      sample,
    )
    const x = sample.data
    const x0 = predOriginalSample.data
    let prevSample: Tensor<"float32">
    if (first) {
      const dt = f32(sigmaInterpol - sigmaHat)
      this.savedSample = x
      prevSample = elementwise(sample.shape, x.length, (i) => x[i]! + f32(f32(f32(x[i]! - x0[i]!) / sigmaHat) * dt))
    } else {
      const dt = f32(sigmaDown - sigmaHat)
      const start = this.savedSample!
      this.savedSample = undefined
      const noise = drawNoise(modelOutput.shape, options.generator)
      prevSample = elementwise(sample.shape, x.length, (i) => {
        const deterministic = f32(start[i]! + f32(f32(f32(x[i]! - x0[i]!) / sigmaInterpol) * dt))
        return deterministic + f32(noise[i]! * sigmaUp)
      })
    }
    this.stepIndexValue = index + 1
    return { prevSample, predOriginalSample }
  }
}
