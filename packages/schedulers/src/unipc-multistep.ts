// UniPC multistep (B(h) predictor-corrector, bh1 / bh2, data or noise prediction).
// Ported from diffusers `schedulers/scheduling_unipc_multistep.py` (`UniPCMultistepScheduler`).
import type { Tensor } from "@pagkit/tensor"
import { InvalidSchedulerConfigError, SchedulerArgumentError } from "./errors.js"
import type { SchedulerConfig, SetTimestepsOptions, StepOptions, StepOutput } from "./scheduler.js"
import { checkOneOf, resolveConfig } from "./internal/config.js"
import {
  DPM_TIMESTEP_SPACINGS,
  DpmSchedulerBase,
  checkPredictionType,
  emptyHistory,
  stepInputs,
} from "./internal/dpm-base.js"
import { normalizeSetTimesteps } from "./internal/base.js"
import { convertModelOutput, convertOptionsOf } from "./internal/dpm-convert.js"
import { alphaSigmaOf, f32 } from "./internal/dpm-math.js"
import {
  checkStepCount,
  inferenceSigmas,
  sigmaMethodOf,
  spacedTimesteps,
  toInt64Timesteps,
  vpTables,
} from "./internal/dpm-schedule.js"
import type { VpTables } from "./internal/dpm-schedule.js"
import { uniCorrector, uniPredictor } from "./internal/dpm-unipc-bh.js"
import type { UniBhInputs } from "./internal/dpm-unipc-bh.js"
import { npLinspace } from "./internal/sigmas.js"

/** Options of {@link UniPCMultistepScheduler} (diffusers' names and defaults; `solver_p` must stay null). */
export const uniPCMultistepDefaults = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "linear",
  trained_betas: null as readonly number[] | null,
  solver_order: 2,
  prediction_type: "epsilon",
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  sample_max_value: 1.0,
  predict_x0: true,
  solver_type: "bh2",
  lower_order_final: true,
  disable_corrector: [] as readonly number[],
  solver_p: null as unknown,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  use_flow_sigmas: false,
  flow_shift: 1.0,
  timestep_spacing: "linspace",
  steps_offset: 0,
  final_sigmas_type: "zero",
  rescale_betas_zero_snr: false,
  use_dynamic_shifting: false,
  time_shift_type: "exponential",
  sigma_min: null as number | null,
  sigma_max: null as number | null,
  shift_terminal: null as number | null,
}

/** Resolved config of {@link UniPCMultistepScheduler}. */
export type UniPCMultistepConfig = typeof uniPCMultistepDefaults

/**
 * UniPC (`UniPCMultistepScheduler`): a multistep predictor with a corrector that reuses the next model
 * evaluation, so it costs one model call per step.
 *
 * @example
 * const scheduler = new UniPCMultistepScheduler({ beta_schedule: "scaled_linear", solver_type: "bh2" })
 * scheduler.setTimesteps(20)
 */
export class UniPCMultistepScheduler extends DpmSchedulerBase {
  readonly className = "UniPCMultistepScheduler"
  readonly config: UniPCMultistepConfig
  private readonly tables: VpTables
  private modelOutputs: (Float32Array | undefined)[]
  private lowerOrderNums = 0
  private lastSample: Float32Array | undefined = undefined
  private thisOrder = 1

  constructor(config: SchedulerConfig = {}) {
    super()
    const resolved = resolveConfig(this.className, uniPCMultistepDefaults, config)
    const solver = ["midpoint", "heun", "logrho"].includes(resolved.solver_type) ? "bh2" : resolved.solver_type
    checkOneOf(this.className, "solver_type", solver, ["bh1", "bh2"])
    this.config = { ...resolved, solver_type: solver }
    sigmaMethodOf(this.config, this.className)
    checkOneOf(this.className, "final_sigmas_type", this.config.final_sigmas_type, ["zero", "sigma_min"])
    checkOneOf(this.className, "timestep_spacing", this.config.timestep_spacing, DPM_TIMESTEP_SPACINGS)
    checkPredictionType(this.className, this.config.prediction_type, this.config.predict_x0)
    if (this.config.solver_p !== null) {
      throw new InvalidSchedulerConfigError(
        `${this.className}: solver_p (a second scheduler as predictor) is not supported. Leave it null.`,
      )
    }
    if (this.config.shift_terminal !== null && !this.config.use_flow_sigmas) {
      throw new InvalidSchedulerConfigError(`${this.className}: shift_terminal needs use_flow_sigmas true.`)
    }
    if (this.config.solver_order < 1) {
      throw new InvalidSchedulerConfigError(`${this.className}: solver_order must be at least 1, found ${this.config.solver_order}.`)
    }
    this.tables = vpTables(this.config, this.className, this.config.rescale_betas_zero_snr)
    this.modelOutputs = emptyHistory(this.config.solver_order)
  }

  setTimesteps(options: number | SetTimestepsOptions): void {
    const request = normalizeSetTimesteps(options)
    const c = this.config
    if (c.use_dynamic_shifting && request.mu === undefined) {
      throw new SchedulerArgumentError(`${this.className}.setTimesteps: use_dynamic_shifting needs mu. Pass { mu }.`)
    }
    const method = sigmaMethodOf({ ...c, use_flow_sigmas: false }, this.className)
    if (request.sigmas !== undefined && (!c.use_flow_sigmas || method !== "interp")) {
      throw new SchedulerArgumentError(
        `${this.className}.setTimesteps: custom sigmas need use_flow_sigmas (without karras/exponential/beta sigmas).`,
      )
    }
    const n = request.sigmas?.length ?? checkStepCount(this.className, request.numInferenceSteps, c.num_train_timesteps)
    const spaced = spacedTimesteps({
      spacing: c.timestep_spacing,
      numTrainTimesteps: c.num_train_timesteps,
      lastTimestep: c.num_train_timesteps,
      numInferenceSteps: n,
      stepsOffset: c.steps_offset,
    })
    let sigmas: Float64Array
    let timesteps: ArrayLike<number>
    let sigmaLast: number
    if (method !== "interp") {
      const schedule = inferenceSigmas({
        method,
        tables: this.tables,
        timesteps: spaced,
        numInferenceSteps: n,
        numTrainTimesteps: c.num_train_timesteps,
        roundTimesteps: true,
        sigmaMin: c.sigma_min,
        sigmaMax: c.sigma_max,
      })
      // Only the Karras branch maps VP sigmas to flow sigmas (as diffusers does).
      const flowKarras = c.use_flow_sigmas && method === "karras"
      sigmas = flowKarras ? schedule.sigmas.map((s) => s / (s + 1)) : schedule.sigmas
      timesteps = flowKarras ? sigmas.map((s) => s * c.num_train_timesteps) : schedule.timesteps
      sigmaLast = c.final_sigmas_type === "sigma_min" ? sigmas[sigmas.length - 1]! : 0
    } else if (c.use_flow_sigmas) {
      sigmas = this.flowSigmasFor(n, request)
      timesteps = sigmas.map((s) => s * c.num_train_timesteps)
      sigmaLast = c.final_sigmas_type === "sigma_min" ? sigmas[sigmas.length - 1]! : 0
    } else {
      const schedule = inferenceSigmas({
        method: "interp",
        tables: this.tables,
        timesteps: spaced,
        numInferenceSteps: n,
        numTrainTimesteps: c.num_train_timesteps,
        roundTimesteps: true,
      })
      sigmas = schedule.sigmas
      timesteps = schedule.timesteps
      // sigma_min: the train sigma of timestep 0, sqrt((1 - alphas_cumprod[0]) / alphas_cumprod[0])
      sigmaLast = c.final_sigmas_type === "sigma_min" ? this.tables.trainSigmas[0]! : 0
    }
    this.setSchedule([...Array.from(sigmas, f32), f32(sigmaLast)], toInt64Timesteps(timesteps))
    this.modelOutputs = emptyHistory(c.solver_order)
    this.lowerOrderNums = 0
    this.lastSample = undefined
  }

  /** Flow-matching sigmas: shifted (static or dynamic with mu), stretched to `shift_terminal`, kept below 1. */
  private flowSigmasFor(n: number, request: SetTimestepsOptions): Float64Array {
    const c = this.config
    let sigmas = request.sigmas
      ? Float64Array.from(request.sigmas)
      : npLinspace(1, 1 / c.num_train_timesteps, n + 1).slice(0, n)
    const mu = request.mu
    if (c.use_dynamic_shifting && mu !== undefined) {
      sigmas =
        c.time_shift_type === "linear"
          ? sigmas.map((t) => mu / (mu + (1 / t - 1)))
          : sigmas.map((t) => Math.exp(mu) / (Math.exp(mu) + (1 / t - 1)))
    } else {
      sigmas = sigmas.map((s) => (c.flow_shift * s) / (1 + (c.flow_shift - 1) * s))
    }
    if (c.shift_terminal) {
      const scaleFactor = (1 - sigmas[sigmas.length - 1]!) / (1 - c.shift_terminal)
      sigmas = sigmas.map((s) => 1 - (1 - s) / scaleFactor)
    }
    if (Math.abs(sigmas[0]! - 1) < 1e-6) sigmas[0] = sigmas[0]! - 1e-6
    return sigmas
  }

  step(
    modelOutput: Tensor<"float32">,
    timestep: number,
    sample: Tensor<"float32">,
    _options: StepOptions = {},
  ): StepOutput {
    const c = this.config
    const index = this.currentStepIndex(timestep)
    const inputs = stepInputs(this.className, modelOutput, sample)
    const useCorrector = index > 0 && !c.disable_corrector.includes(index - 1) && this.lastSample !== undefined
    const converted = convertModelOutput(inputs, this.sigmaAt(index), {
      ...convertOptionsOf(this.className, c, sample.shape),
      toData: c.predict_x0,
      thresholding: c.predict_x0 && c.thresholding, // diffusers' UniPC never thresholds the noise prediction
    })
    let current = inputs.sample
    if (useCorrector && this.lastSample !== undefined) {
      // UniC: index - 1 → index, with the outputs saved before this step.
      current = uniCorrector(this.bhInputs(index - 1, this.thisOrder, this.lastSample), converted)
    }
    this.modelOutputs.shift()
    this.modelOutputs.push(converted)
    const orderCap = c.lower_order_final ? Math.min(c.solver_order, this.timesteps.length - index) : c.solver_order
    this.thisOrder = Math.min(orderCap, this.lowerOrderNums + 1)
    this.lastSample = current
    const prev = uniPredictor(this.bhInputs(index, this.thisOrder, current))
    if (this.lowerOrderNums < c.solver_order) this.lowerOrderNums++
    return this.finishStep(index, prev, sample.shape)
  }

  /** The predictor/corrector inputs for a step from sigma index `base` to `base + 1`. */
  private bhInputs(base: number, order: number, x: Float32Array): UniBhInputs {
    const flow = this.config.use_flow_sigmas
    const outputs = this.modelOutputs
    const at = (i: number): Float32Array => {
      const m = outputs[outputs.length - 1 - i]
      if (m === undefined) {
        throw new InvalidSchedulerConfigError(`${this.className}: missing model output ${i} for order ${order}.`)
      }
      return m
    }
    return {
      solverType: this.config.solver_type as "bh1" | "bh2",
      predictX0: this.config.predict_x0,
      t: alphaSigmaOf(this.sigmaAt(base + 1), flow),
      s0: alphaSigmaOf(this.sigmaAt(base), flow),
      previous: Array.from({ length: order - 1 }, (_, k) => alphaSigmaOf(this.sigmaAt(base - k - 1), flow)),
      m0: at(0),
      earlierOutputs: Array.from({ length: order - 1 }, (_, k) => at(k + 1)),
      sample: x,
      order,
    }
  }
}
