// DPM-Solver / DPM-Solver++ multistep (orders 1–3, ODE and SDE variants).
// Ported from diffusers `schedulers/scheduling_dpmsolver_multistep.py` (`DPMSolverMultistepScheduler`).
import type { Tensor } from "@pagkit/tensor"
import { InvalidSchedulerConfigError } from "./errors.js"
import type { SchedulerConfig, SetTimestepsOptions, StepOptions, StepOutput } from "./scheduler.js"
import {
  DPM_TIMESTEP_SPACINGS,
  DpmSchedulerBase,
  checkFinalSigmasType,
  checkPredictionType,
  checkSolverOrder,
  dynamicFlowShift,
  emptyHistory,
  multistepOrder,
  normalizeDpmAlgorithm,
  savedOutputs,
  withNumericLambdaMin,
} from "./internal/dpm-base.js"
import { normalizeSetTimesteps } from "./internal/base.js"
import { drawNoise } from "./internal/math.js"
import { convertModelOutput, convertOptionsOf } from "./internal/dpm-convert.js"
import { f32 } from "./internal/dpm-math.js"
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
    checkFinalSigmasType(this.className, this.config)
    checkSolverOrder(this.className, this.config.solver_order)
    this.tables = vpTables(this.config, this.className, this.config.rescale_betas_zero_snr)
    this.flowShift = this.config.flow_shift
    this.modelOutputs = emptyHistory(this.config.solver_order)
  }

  setTimesteps(options: number | SetTimestepsOptions): void {
    const request = normalizeSetTimesteps(options)
    const c = this.config
    this.flowShift = dynamicFlowShift(this.className, c, request) ?? this.flowShift
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
    // sigma_min: the train sigma of timestep 0, sqrt((1 - alphas_cumprod[0]) / alphas_cumprod[0])
    const sigmaLast = c.final_sigmas_type === "sigma_min" ? this.tables.trainSigmas[0]! : 0
    this.setSchedule([...Array.from(schedule.sigmas, f32), sigmaLast], toInt64Timesteps(schedule.timesteps))
    this.modelOutputs = emptyHistory(c.solver_order)
    this.lowerOrderNums = 0
  }

  step(
    modelOutput: Tensor<"float32">,
    timestep: number,
    sample: Tensor<"float32">,
    options: StepOptions = {},
  ): StepOutput {
    const c = this.config
    const index = this.currentStepIndex(timestep)
    const inputs = this.stepData(modelOutput, sample)
    const converted = convertModelOutput(inputs, this.sigmaAt(index), {
      ...convertOptionsOf(this.className, c, sample.shape),
      toData: c.algorithm_type.endsWith("++"),
    })
    this.modelOutputs.shift()
    this.modelOutputs.push(converted)

    const noise = c.algorithm_type.startsWith("sde") ? drawNoise(sample.shape, options.generator) : undefined
    const order = multistepOrder({
      index,
      steps: this.timesteps.length,
      solverOrder: c.solver_order,
      lowerOrderNums: this.lowerOrderNums,
      lowerOrderFinal: c.lower_order_final,
      firstOrderAtFinal: c.euler_at_final || c.final_sigmas_type === "zero",
    })
    const update = {
      algorithm: c.algorithm_type as DpmAlgorithm,
      solverType: c.solver_type as DpmSolverType,
      points: this.multistepPoints(index, order),
      models: savedOutputs(this.modelOutputs),
      sample: inputs.sample,
      noise,
    }
    const prev =
      order === 1 ? firstOrderUpdate(update) : order === 2 ? secondOrderUpdate(update) : thirdOrderUpdate(update)
    if (this.lowerOrderNums < c.solver_order) this.lowerOrderNums++
    return this.finishStep(index, prev, sample.shape)
  }
}
