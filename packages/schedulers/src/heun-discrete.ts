// HeunDiscreteScheduler, ported from diffusers `schedulers/scheduling_heun_discrete.py`.
import type { Tensor } from "@pagkit/tensor"
import { SchedulerArgumentError } from "./errors.js"
import { alphasCumprodFor } from "./internal/alphas.js"
import { normalizeSetTimesteps } from "./internal/base.js"
import { checkOneOf, checkSingleSigmaConversion, resolveConfig } from "./internal/config.js"
import { KarrasSchedulerBase, karrasPredictX0 } from "./internal/karras-base.js"
import { interleaveMiddle, interleaveTail, karrasStyleTables } from "./internal/karras-tables.js"
import { checkStepInputs, clampTensor, elementwise } from "./internal/math.js"
import { TIMESTEP_SPACINGS, sigmaConversionOf } from "./internal/sigmas.js"
import type { SchedulerConfig, SetTimestepsOptions, StepOptions, StepOutput } from "./scheduler.js"

const f32 = Math.fround

/** HeunDiscreteScheduler's options and their diffusers defaults. */
export const heunDiscreteDefaults = {
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: "linear",
  trained_betas: null as readonly number[] | null,
  prediction_type: "epsilon",
  use_karras_sigmas: false as boolean | null,
  use_exponential_sigmas: false as boolean | null,
  use_beta_sigmas: false as boolean | null,
  clip_sample: false,
  clip_sample_range: 1.0,
  timestep_spacing: "linspace",
  steps_offset: 0,
}

/** Resolved HeunDiscreteScheduler config. */
export type HeunDiscreteConfig = typeof heunDiscreteDefaults

/**
 * Heun's second-order method (Karras et al. 2022, Algorithm 1): `order` 2, so every inner timestep appears twice
 * in `timesteps` and the model is called twice per σ interval.
 *
 * @example
 * const scheduler = new HeunDiscreteScheduler({ beta_schedule: "scaled_linear" })
 * scheduler.setTimesteps(10) // 19 model calls
 */
export class HeunDiscreteScheduler extends KarrasSchedulerBase<HeunDiscreteConfig> {
  readonly className = "HeunDiscreteScheduler"
  readonly alphasCumprod: Float32Array
  private prevDerivative: Float32Array | undefined = undefined
  private dt: number | undefined = undefined
  private firstSample: Float32Array | undefined = undefined

  constructor(config: SchedulerConfig = {}) {
    const c = resolveConfig("HeunDiscreteScheduler", heunDiscreteDefaults, config)
    checkSingleSigmaConversion("HeunDiscreteScheduler", c)
    checkOneOf("HeunDiscreteScheduler", "prediction_type", c.prediction_type, ["epsilon", "v_prediction", "sample"])
    checkOneOf("HeunDiscreteScheduler", "timestep_spacing", c.timestep_spacing, TIMESTEP_SPACINGS)
    super(c)
    this.order = 2
    this.alphasCumprod = alphasCumprodFor(c, this.className)
    this.setTimesteps(c.num_train_timesteps)
  }

  /** True when the next `step` is the first (Euler) half of a Heun step; false between its two evaluations. */
  get stateInFirstOrder(): boolean {
    return this.dt === undefined
  }

  setTimesteps(options: number | SetTimestepsOptions): void {
    const c = this.config
    const opts = normalizeSetTimesteps(options)
    const conversion = sigmaConversionOf(c)
    if (opts.timesteps !== undefined && conversion !== undefined) {
      throw new SchedulerArgumentError(
        `${this.className}.setTimesteps: custom timesteps cannot be combined with use_${conversion}_sigmas.`,
      )
    }
    const { n, spaced } = this.requestedTimesteps(opts)
    const tables = karrasStyleTables({
      alphasCumprod: this.alphasCumprod,
      numInferenceSteps: n,
      timesteps: spaced,
      conversion,
    })
    this.sigmaTable = interleaveMiddle(Float32Array.from([...tables.sigmas, 0]))
    this.timestepTable = interleaveTail(Float32Array.from(tables.timesteps))
    this.prevDerivative = undefined
    this.dt = undefined
    this.firstSample = undefined
    this.stepIndexValue = undefined
    this.beginIndexValue = undefined
    this.updateInitNoiseSigma()
  }

  step(
    modelOutput: Tensor<"float32">,
    timestep: number,
    sample: Tensor<"float32">,
    _options: StepOptions = {},
  ): StepOutput {
    checkStepInputs(this.className, modelOutput, sample)
    this.requireTimesteps()
    const c = this.config
    const index = this.initStepIndex(timestep)
    const sigmas = this.sigmaTable!
    const first = this.stateInFirstOrder
    const sigma = first ? sigmas[index]! : sigmas[index - 1]!
    const sigmaNext = first ? sigmas[index + 1]! : sigmas[index]!
    const sigmaHat = sigma // gamma = 0
    const sigmaInput = first ? sigmaHat : sigmaNext
    let predOriginalSample = karrasPredictX0(this.className, c.prediction_type, sigmaInput, modelOutput, sample)
    if (c.clip_sample) predOriginalSample = clampTensor(predOriginalSample, c.clip_sample_range)
    const x = sample.data
    const x0 = predOriginalSample.data
    let prevSample: Tensor<"float32">
    if (first) {
      const derivative = x.map((v, i) => f32(v - x0[i]!) / sigmaHat)
      const dt = f32(sigmaNext - sigmaHat)
      this.prevDerivative = derivative
      this.dt = dt
      this.firstSample = x
      prevSample = elementwise(sample.shape, x.length, (i) => x[i]! + f32(derivative[i]! * dt))
    } else {
      const prev = this.prevDerivative!
      const dt = this.dt!
      const start = this.firstSample!
      const derivative = x.map((v, i) => f32(f32(prev[i]! + f32(f32(v - x0[i]!) / sigmaNext)) / 2))
      this.prevDerivative = undefined
      this.dt = undefined
      this.firstSample = undefined
      prevSample = elementwise(sample.shape, x.length, (i) => start[i]! + f32(derivative[i]! * dt))
    }
    this.stepIndexValue = index + 1
    return { prevSample, predOriginalSample }
  }
}
