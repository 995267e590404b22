// DPM-Solver / DPM-Solver++ multistep (orders 1–3, ODE and SDE variants).
// Ported from diffusers `schedulers/scheduling_dpmsolver_multistep.py` (`DPMSolverMultistepScheduler`).
import { Tensor } from "@pagkit/tensor"
import { InvalidSchedulerConfigError } from "./errors.js"
import type { SchedulerConfig, SetTimestepsOptions, StepOptions, StepOutput } from "./scheduler.js"
import {
  DPM_TIMESTEP_SPACINGS,
  DpmSchedulerBase,
  checkPredictionType,
  drawNoise,
  normalizeDpmAlgorithm,
  stepInputs,
  timestepsRequest,
  withNumericLambdaMin,
} from "./internal/dpm-base.js"
import { dataPrediction, meanChannels, noisePrediction } from "./internal/dpm-convert.js"
import type { ConvertOptions } from "./internal/dpm-convert.js"
import { alphaSigmaOf, f32 } from "./internal/dpm-math.js"
import {
  checkStepCount,
  clippedLastTimestep,
  inferenceSigmas,
  sigmaMethodOf,
  spacedTimesteps,
  toInt64Timesteps,
  vpTables,
} from "./internal/dpm-schedule.js"
import type { VpTables } from "./internal/dpm-schedule.js"
import { firstOrderUpdate, secondOrderUpdate, thirdOrderUpdate } from "./internal/dpm-updates.js"
import type { DpmAlgorithm, DpmSolverType } from "./internal/dpm-updates.js"
import { checkOneOf, resolveConfig } from "./internal/config.js"

/** Options of {@link DPMSolverMultistepScheduler} (diffusers' names and defaults). */
export const dpmSolverMultistepDefaults = {
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
  algorithm_type: "dpmsolver++",
  solver_type: "midpoint",
  lower_order_final: true,
  euler_at_final: false,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  use_lu_lambdas: false,
  use_flow_sigmas: false,
  flow_shift: 1.0,
  final_sigmas_type: "zero",
  lambda_min_clipped: -Infinity,
  variance_type: null as string | null,
  timestep_spacing: "linspace",
  steps_offset: 0,
  rescale_betas_zero_snr: false,
  use_dynamic_shifting: false,
  time_shift_type: "exponential",
}

/** Resolved config of {@link DPMSolverMultistepScheduler}. */
export type DPMSolverMultistepConfig = typeof dpmSolverMultistepDefaults

/**
 * DPM-Solver++ multistep, the usual fast sampler (`DPMSolverMultistepScheduler`): ODE or SDE, orders 1–3,
 * Karras / exponential / beta / Lu-lambda / flow sigmas.
 *
 * @example
 * const scheduler = new DPMSolverMultistepScheduler({ beta_schedule: "scaled_linear", use_karras_sigmas: true })
 * scheduler.setTimesteps(20)
 */
export class DPMSolverMultistepScheduler extends DpmSchedulerBase {
  readonly className = "DPMSolverMultistepScheduler"
  readonly config: DPMSolverMultistepConfig
  private readonly tables: VpTables
  private flowShift: number
  private modelOutputs: (Float32Array | undefined)[]
  private lowerOrderNums = 0

  constructor(config: SchedulerConfig = {}) {
    super()
    const resolved = resolveConfig(this.className, dpmSolverMultistepDefaults, withNumericLambdaMin(config))
    const algorithms = ["dpmsolver", "dpmsolver++", "sde-dpmsolver", "sde-dpmsolver++"]
    this.config = normalizeDpmAlgorithm(this.className, resolved, algorithms)
    sigmaMethodOf(this.config, this.className)
    checkOneOf(this.className, "final_sigmas_type", this.config.final_sigmas_type, ["zero", "sigma_min"])
    checkOneOf(this.className, "timestep_spacing", this.config.timestep_spacing, DPM_TIMESTEP_SPACINGS)
    checkPredictionType(this.className, this.config.prediction_type, this.config.algorithm_type.endsWith("++"))
    if (!this.config.algorithm_type.endsWith("++") && this.config.final_sigmas_type === "zero") {
      throw new InvalidSchedulerConfigError(
        `${this.className}: final_sigmas_type "zero" is not supported for algorithm_type "${this.config.algorithm_type}". Set final_sigmas_type to "sigma_min".`,
      )
    }
    if (this.config.solver_order < 1 || this.config.solver_order > 3) {
      throw new InvalidSchedulerConfigError(
        `${this.className}: solver_order must be 1, 2 or 3, found ${this.config.solver_order}.`,
      )
    }
    this.tables = vpTables(this.config, this.className, this.config.rescale_betas_zero_snr)
    this.flowShift = this.config.flow_shift
    this.modelOutputs = new Array<Float32Array | undefined>(this.config.solver_order).fill(undefined)
  }

  setTimesteps(options: number | SetTimestepsOptions): void {
    const request = timestepsRequest(options)
    const c = this.config
    if (request.mu !== undefined) {
      if (!c.use_dynamic_shifting) {
        throw new InvalidSchedulerConfigError(`${this.className}: mu needs use_dynamic_shifting true in the config.`)
      }
      this.flowShift = Math.exp(request.mu)
    }
    const method = sigmaMethodOf(c, this.className)
    let spaced: number[]
    let n: number
    if (request.timesteps !== undefined) {
      if (["karras", "lu", "exponential", "beta"].includes(method)) {
        throw new InvalidSchedulerConfigError(
          `${this.className}: custom timesteps cannot be used with ${method} sigmas. Pass numInferenceSteps instead.`,
        )
      }
      spaced = request.timesteps.map((t) => Math.trunc(t))
      n = spaced.length
    } else {
      n = checkStepCount(this.className, request.numInferenceSteps, c.num_train_timesteps)
      spaced = spacedTimesteps({
        spacing: c.timestep_spacing,
        numTrainTimesteps: c.num_train_timesteps,
        lastTimestep: clippedLastTimestep(this.tables.lambdas, c.lambda_min_clipped),
        numInferenceSteps: n,
        stepsOffset: c.steps_offset,
      })
    }
    const schedule = inferenceSigmas({
      method,
      tables: this.tables,
      timesteps: spaced,
      numInferenceSteps: n,
      numTrainTimesteps: c.num_train_timesteps,
      roundTimesteps: c.beta_schedule !== "squaredcos_cap_v2",
      flowShift: this.flowShift,
    })
    const ac0 = this.tables.alphasCumprod[0]!
    const sigmaLast = c.final_sigmas_type === "sigma_min" ? f32(Math.sqrt(f32(f32(1 - ac0) / ac0))) : 0
    this.sigmas = [...Array.from(schedule.sigmas, f32), sigmaLast]
    this.timesteps = toInt64Timesteps(schedule.timesteps)
    this.numInferenceSteps = this.timesteps.length
    this.modelOutputs = new Array<Float32Array | undefined>(c.solver_order).fill(undefined)
    this.lowerOrderNums = 0
    this.stepIndexValue = undefined
    this.beginIndexValue = undefined
  }

  step(
    modelOutput: Tensor<"float32">,
    timestep: number,
    sample: Tensor<"float32">,
    options: StepOptions = {},
  ): StepOutput {
    const c = this.config
    const index = this.currentStepIndex(timestep)
    const n = this.timesteps.length
    const lowerOrderFinal =
      index === n - 1 && (c.euler_at_final || (c.lower_order_final && n < 15) || c.final_sigmas_type === "zero")
    const lowerOrderSecond = index === n - 2 && c.lower_order_final && n < 15

    const learned = c.variance_type === "learned" || c.variance_type === "learned_range"
    const output =
      learned && c.prediction_type === "epsilon" ? meanChannels(modelOutput.data, modelOutput.shape) : modelOutput.data
    const inputs = stepInputs(this.className, new Tensor("float32", output, sample.shape), sample)
    const convert = this.convertOptions(sample.shape)
    const sigma = this.sigmaAt(index)
    const converted = c.algorithm_type.endsWith("++")
      ? dataPrediction(inputs.output, inputs.sample, sigma, convert)
      : noisePrediction(inputs.output, inputs.sample, sigma, convert)
    this.modelOutputs.shift()
    this.modelOutputs.push(converted)

    const noise = c.algorithm_type.startsWith("sde") ? drawNoise(sample.shape, options.generator) : undefined
    const order =
      c.solver_order === 1 || this.lowerOrderNums < 1 || lowerOrderFinal
        ? 1
        : c.solver_order === 2 || this.lowerOrderNums < 2 || lowerOrderSecond
          ? 2
          : 3
    const points = [index + 1, index, index - 1, index - 2]
      .slice(0, order + 1)
      .map((i) => alphaSigmaOf(this.sigmaAt(i), c.use_flow_sigmas))
    const update = {
      algorithm: c.algorithm_type as DpmAlgorithm,
      solverType: c.solver_type as DpmSolverType,
      points,
      models: this.modelOutputs.filter((m): m is Float32Array => m !== undefined),
      sample: inputs.sample,
      noise,
    }
    const prev =
      order === 1 ? firstOrderUpdate(update) : order === 2 ? secondOrderUpdate(update) : thirdOrderUpdate(update)
    if (this.lowerOrderNums < c.solver_order) this.lowerOrderNums++
    this.stepIndexValue = index + 1
    return { prevSample: new Tensor("float32", prev, sample.shape) }
  }

  private convertOptions(shape: readonly number[]): ConvertOptions {
    const c = this.config
    return {
      className: this.className,
      predictionType: c.prediction_type,
      flow: c.use_flow_sigmas,
      thresholding: c.thresholding,
      dynamicThresholdingRatio: c.dynamic_thresholding_ratio,
      sampleMaxValue: c.sample_max_value,
      shape,
    }
  }
}
