// DPM-Solver / DPM-Solver++ singlestep (orders 1–3 cycling through an order list).
// Ported from diffusers `schedulers/scheduling_dpmsolver_singlestep.py` (`DPMSolverSinglestepScheduler`).
import type { Tensor } from "@pagkit/tensor"
import { InvalidSchedulerConfigError } from "./errors.js"
import type { SchedulerConfig, SetTimestepsOptions, StepOptions, StepOutput } from "./scheduler.js"
import { checkOneOf, resolveConfig } from "./internal/config.js"
import {
  DpmSchedulerBase,
  checkFinalSigmasType,
  checkPredictionType,
  checkSolverOrder,
  dynamicFlowShift,
  emptyHistory,
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
import { singlestepSecondOrder, singlestepThirdOrder } from "./internal/dpm-singlestep-updates.js"
import { firstOrderUpdate } from "./internal/dpm-updates.js"
import type { DpmAlgorithm, DpmSolverType, MultistepUpdate } from "./internal/dpm-updates.js"

/** Options of {@link DPMSolverSinglestepScheduler} (diffusers' names and defaults). */
export const dpmSolverSinglestepDefaults = {
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
  lower_order_final: false,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  use_flow_sigmas: false,
  flow_shift: 1.0,
  final_sigmas_type: "zero",
  lambda_min_clipped: -Infinity,
  variance_type: null as string | null,
  use_dynamic_shifting: false,
  time_shift_type: "exponential",
}

/** Resolved config of {@link DPMSolverSinglestepScheduler}. */
export type DPMSolverSinglestepConfig = typeof dpmSolverSinglestepDefaults

/** `get_order_list`: the solver order of each step. */
export function singlestepOrderList(
  steps: number,
  order: number,
  options: { readonly lowerOrderFinal: boolean; readonly finalSigmasZero: boolean },
): number[] {
  const cycle = (k: number): number[] => Array.from({ length: k }, (_, i) => i + 1)
  const repeat = (k: number, times: number): number[] =>
    Array.from({ length: Math.max(times, 0) }, () => cycle(k)).flat()
  let orders: number[]
  if (order === 1) orders = new Array<number>(steps).fill(1)
  else if (!options.lowerOrderFinal) orders = repeat(order, Math.floor(steps / order))
  else if (order === 3) {
    const rest = steps % 3
    orders =
      rest === 0
        ? [...repeat(3, steps / 3 - 1), 1, 2, 1]
        : rest === 1
          ? [...repeat(3, (steps - 1) / 3), 1]
          : [...repeat(3, (steps - 2) / 3), 1, 2]
  } else {
    orders = steps % 2 === 0 ? [...repeat(2, steps / 2 - 1), 1, 1] : [...repeat(2, (steps - 1) / 2), 1]
  }
  if (options.finalSigmasZero && orders.length > 0) orders[orders.length - 1] = 1
  return orders
}

/**
 * DPM-Solver singlestep (`DPMSolverSinglestepScheduler`): each order-k group of steps starts from the sample saved
 * at its first step.
 */
export class DPMSolverSinglestepScheduler extends DpmSchedulerBase {
  readonly className = "DPMSolverSinglestepScheduler"
  readonly config: DPMSolverSinglestepConfig
  private readonly tables: VpTables
  private flowShift: number
  private lowerOrderFinal: boolean
  private orderList: number[] = []
  private modelOutputs: (Float32Array | undefined)[]
  private savedSample: Float32Array | undefined = undefined

  constructor(config: SchedulerConfig = {}) {
    super()
    const resolved = resolveConfig(this.className, dpmSolverSinglestepDefaults, withNumericLambdaMin(config))
    this.config = normalizeDpmAlgorithm(this.className, resolved, ["dpmsolver", "dpmsolver++", "sde-dpmsolver++"])
    sigmaMethodOf(this.config, this.className)
    checkOneOf(this.className, "final_sigmas_type", this.config.final_sigmas_type, ["zero", "sigma_min"])
    // "dpmsolver" is the only algorithm here without "++"
    checkPredictionType(this.className, this.config.prediction_type, this.config.algorithm_type !== "dpmsolver")
    checkFinalSigmasType(this.className, this.config)
    checkSolverOrder(this.className, this.config.solver_order)
    this.tables = vpTables(this.config, this.className)
    this.flowShift = this.config.flow_shift
    this.lowerOrderFinal = this.config.lower_order_final
    this.modelOutputs = emptyHistory(this.config.solver_order)
  }

  setTimesteps(options: number | SetTimestepsOptions): void {
    const request = normalizeSetTimesteps(options)
    const c = this.config
    this.flowShift = dynamicFlowShift(this.className, c, request) ?? this.flowShift
    const method = sigmaMethodOf(c, this.className)
    let spaced: number[]
    if (request.timesteps !== undefined) {
      if (["karras", "exponential", "beta"].includes(method)) {
        throw new InvalidSchedulerConfigError(
          `${this.className}: custom timesteps cannot be used with ${method} sigmas. Pass numInferenceSteps instead.`,
        )
      }
      spaced = request.timesteps.map((t) => Math.trunc(t))
    } else {
      const n = checkStepCount(this.className, request.numInferenceSteps, c.num_train_timesteps)
      spaced = spacedTimesteps({
        spacing: "linspace",
        numTrainTimesteps: c.num_train_timesteps,
        lastTimestep: clippedLastTimestep(this.tables.lambdas, c.lambda_min_clipped),
        numInferenceSteps: n,
        stepsOffset: 0,
      })
    }
    const n = spaced.length
    const schedule = inferenceSigmas({
      method,
      tables: this.tables,
      timesteps: spaced,
      numInferenceSteps: n,
      numTrainTimesteps: c.num_train_timesteps,
      roundTimesteps: true,
      flowShift: this.flowShift,
    })
    // sigma_min: the train sigma of timestep 0, sqrt((1 - alphas_cumprod[0]) / alphas_cumprod[0])
    const sigmaLast = c.final_sigmas_type === "sigma_min" ? this.tables.trainSigmas[0]! : 0
    this.setSchedule([...Array.from(schedule.sigmas, f32), sigmaLast], toInt64Timesteps(schedule.timesteps))
    this.modelOutputs = emptyHistory(c.solver_order)
    this.savedSample = undefined
    // diffusers switches lower_order_final on (for good) when the steps do not split into full order groups.
    if (!this.lowerOrderFinal && (n % c.solver_order !== 0 || c.final_sigmas_type === "zero")) {
      this.lowerOrderFinal = true
    }
    this.orderList = singlestepOrderList(n, c.solver_order, {
      lowerOrderFinal: this.lowerOrderFinal,
      finalSigmasZero: c.final_sigmas_type === "zero",
    })
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
      toData: c.algorithm_type !== "dpmsolver",
    })
    this.modelOutputs.shift()
    this.modelOutputs.push(converted)
    const noise = c.algorithm_type === "sde-dpmsolver++" ? drawNoise(sample.shape, options.generator) : undefined

    let order = this.orderList[index] ?? 1
    // img2img may start inside an order group: fall back to the orders the saved outputs allow.
    while (order > 1 && this.modelOutputs[this.modelOutputs.length - order] === undefined) order--
    if (order === 1) this.savedSample = inputs.sample
    const start = this.savedSample ?? inputs.sample
    const update: MultistepUpdate = {
      algorithm: c.algorithm_type as DpmAlgorithm,
      solverType: c.solver_type as DpmSolverType,
      points: this.multistepPoints(index, order),
      models: savedOutputs(this.modelOutputs),
      sample: start,
      noise,
    }
    const prev =
      order === 1
        ? firstOrderUpdate(update)
        : order === 2
          ? singlestepSecondOrder(update)
          : singlestepThirdOrder(update)
    return this.finishStep(index, prev, sample.shape)
  }
}
