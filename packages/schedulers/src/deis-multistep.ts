// DEIS multistep (log-rho polynomial extrapolation of the noise prediction, orders 1–3).
// Ported from diffusers `schedulers/scheduling_deis_multistep.py` (`DEISMultistepScheduler`).
import type { Tensor } from "@pagkit/tensor"
import type { SchedulerConfig, SetTimestepsOptions, StepOptions, StepOutput } from "./scheduler.js"
import { checkOneOf, resolveConfig } from "./internal/config.js"
import {
  DPM_TIMESTEP_SPACINGS,
  DpmSchedulerBase,
  checkPredictionType,
  checkSolverOrder,
  dynamicFlowShift,
  emptyHistory,
  multistepOrder,
  savedOutputs,
  stepInputs,
} from "./internal/dpm-base.js"
import { normalizeSetTimesteps } from "./internal/base.js"
import { convertOptionsOf, dataPrediction } from "./internal/dpm-convert.js"
import { alphaSigmaOf, f32, logF, subScaledDivide } from "./internal/dpm-math.js"
import type { AlphaSigma } from "./internal/dpm-math.js"
import {
  checkStepCount,
  inferenceSigmas,
  sigmaMethodOf,
  spacedTimesteps,
  toInt64Timesteps,
  vpTables,
} from "./internal/dpm-schedule.js"
import type { VpTables } from "./internal/dpm-schedule.js"
import { firstOrderUpdate } from "./internal/dpm-updates.js"

/** Options of {@link DEISMultistepScheduler} (diffusers' names and defaults). */
export const deisMultistepDefaults = {
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
  algorithm_type: "deis",
  solver_type: "logrho",
  lower_order_final: true,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  use_flow_sigmas: false,
  flow_shift: 1.0,
  timestep_spacing: "linspace",
  steps_offset: 0,
  use_dynamic_shifting: false,
  time_shift_type: "exponential",
}

/** Resolved config of {@link DEISMultistepScheduler}. */
export type DEISMultistepConfig = typeof deisMultistepDefaults

/** `Integrate[(log t - log c) / (log b - log c), t]` in float32 (second-order DEIS coefficient). */
function integral2(t: number, b: number, c: number): number {
  const [lt, lb, lc] = [logF(t), logF(b), logF(c)]
  return f32(f32(t * f32(f32(-lc + lt) - 1)) / f32(lb - lc))
}

/** `Integrate[(log t - log c)(log t - log d) / ((log b - log c)(log b - log d)), t]` in float32. */
function integral3(t: number, b: number, c: number, d: number): number {
  const [lt, lb, lc, ld] = [logF(t), logF(b), logF(c), logF(d)]
  let inner = f32(lc * f32(f32(ld - lt) + 1))
  inner = f32(inner - f32(ld * lt))
  inner = f32(inner + ld)
  inner = f32(inner + f32(lt * lt))
  inner = f32(inner - f32(2 * lt))
  inner = f32(inner + 2)
  return f32(f32(t * inner) / f32(f32(lb - lc) * f32(lb - ld)))
}

/**
 * DEIS (`DEISMultistepScheduler`): exponential integrator with log-rho Lagrange extrapolation of the noise
 * prediction.
 *
 * @example
 * const scheduler = new DEISMultistepScheduler({ beta_schedule: "scaled_linear", solver_order: 3 })
 * scheduler.setTimesteps(20)
 */
export class DEISMultistepScheduler extends DpmSchedulerBase {
  readonly className = "DEISMultistepScheduler"
  readonly config: DEISMultistepConfig
  private readonly tables: VpTables
  private flowShift: number
  private modelOutputs: (Float32Array | undefined)[]
  private lowerOrderNums = 0

  constructor(config: SchedulerConfig = {}) {
    super()
    const resolved = resolveConfig(this.className, deisMultistepDefaults, config)
    const algorithm = ["dpmsolver", "dpmsolver++"].includes(resolved.algorithm_type) ? "deis" : resolved.algorithm_type
    const solver = ["midpoint", "heun", "bh1", "bh2"].includes(resolved.solver_type) ? "logrho" : resolved.solver_type
    checkOneOf(this.className, "algorithm_type", algorithm, ["deis"])
    checkOneOf(this.className, "solver_type", solver, ["logrho"])
    this.config = { ...resolved, algorithm_type: algorithm, solver_type: solver }
    sigmaMethodOf(this.config, this.className)
    checkOneOf(this.className, "timestep_spacing", this.config.timestep_spacing, DPM_TIMESTEP_SPACINGS)
    checkPredictionType(this.className, this.config.prediction_type, true)
    checkSolverOrder(this.className, this.config.solver_order)
    this.tables = vpTables(this.config, this.className)
    this.flowShift = this.config.flow_shift
    this.modelOutputs = emptyHistory(this.config.solver_order)
  }

  setTimesteps(options: number | SetTimestepsOptions): void {
    const request = normalizeSetTimesteps(options)
    const c = this.config
    this.flowShift = dynamicFlowShift(this.className, c, request) ?? this.flowShift
    const n = checkStepCount(this.className, request.numInferenceSteps, c.num_train_timesteps)
    const spaced = spacedTimesteps({
      spacing: c.timestep_spacing,
      numTrainTimesteps: c.num_train_timesteps,
      lastTimestep: c.num_train_timesteps,
      numInferenceSteps: n,
      stepsOffset: c.steps_offset,
    })
    const method = sigmaMethodOf(c, this.className)
    const schedule = inferenceSigmas({
      method,
      tables: this.tables,
      timesteps: spaced,
      numInferenceSteps: n,
      numTrainTimesteps: c.num_train_timesteps,
      roundTimesteps: true,
      flowShift: this.flowShift,
    })
    // The default schedule ends at the sigma of train step 0; the others repeat their last sigma.
    const sigmaLast = method === "interp" ? this.tables.trainSigmas[0]! : schedule.sigmas[schedule.sigmas.length - 1]!
    this.setSchedule([...Array.from(schedule.sigmas, f32), f32(sigmaLast)], toInt64Timesteps(schedule.timesteps))
    this.modelOutputs = emptyHistory(c.solver_order)
    this.lowerOrderNums = 0
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
    const s0 = alphaSigmaOf(this.sigmaAt(index), c.use_flow_sigmas)
    const x0 = dataPrediction(inputs.output, inputs.sample, this.sigmaAt(index), convertOptionsOf(this.className, c, sample.shape))
    // DEIS integrates the noise prediction: eps = (sample - alpha_t·x0) / sigma_t.
    const eps = subScaledDivide(inputs.sample, s0.alpha, x0, s0.sigma)
    this.modelOutputs.shift()
    this.modelOutputs.push(eps)
    const order = multistepOrder({
      index,
      steps: this.timesteps.length,
      solverOrder: c.solver_order,
      lowerOrderNums: this.lowerOrderNums,
      lowerOrderFinal: c.lower_order_final,
    })
    const points = this.multistepPoints(index, order)
    const models = savedOutputs(this.modelOutputs)
    const prev =
      order === 1
        ? firstOrderUpdate({
            algorithm: "dpmsolver",
            solverType: "midpoint",
            points,
            models,
            sample: inputs.sample,
            noise: undefined,
          })
        : deisUpdate(points, models, inputs.sample)
    if (this.lowerOrderNums < c.solver_order) this.lowerOrderNums++
    return this.finishStep(index, prev, sample.shape)
  }
}

/** `multistep_deis_second_order_update` / `multistep_deis_third_order_update` (points `[t, s0, s1(, s2)]`). */
function deisUpdate(
  points: readonly AlphaSigma[],
  models: readonly Float32Array[],
  sample: Float32Array,
): Float32Array {
  const [t, s0] = points as [AlphaSigma, AlphaSigma]
  const rho = points.map((p) => f32(p.sigma / p.alpha))
  const [rt, r0, r1] = rho as [number, number, number]
  const k = models.length
  let coefficients: number[]
  if (points.length === 3) {
    coefficients = [
      f32(integral2(rt, r0, r1) - integral2(r0, r0, r1)),
      f32(integral2(rt, r1, r0) - integral2(r0, r1, r0)),
    ]
  } else {
    const r2 = rho[3]!
    coefficients = [
      f32(integral3(rt, r0, r1, r2) - integral3(r0, r0, r1, r2)),
      f32(integral3(rt, r1, r2, r0) - integral3(r0, r1, r2, r0)),
      f32(integral3(rt, r2, r0, r1) - integral3(r0, r2, r0, r1)),
    ]
  }
  // x_t = alpha_t · (sample / alpha_s0 + coef1·m0 + coef2·m1 (+ coef3·m2))
  const out = new Float32Array(sample.length)
  for (let i = 0; i < out.length; i++) {
    let acc = f32(sample[i]! / s0.alpha)
    coefficients.forEach((coef, j) => {
      acc = f32(acc + f32(coef * models[k - 1 - j]![i]!))
    })
    out[i] = t.alpha * acc
  }
  return out
}
