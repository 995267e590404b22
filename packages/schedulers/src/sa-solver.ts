// SA-Solver: stochastic Adams predictor (Adams-Bashforth) and corrector (Adams-Moulton) with tau-controlled noise.
// Ported from diffusers `schedulers/scheduling_sasolver.py` (`SASolverScheduler`).
import type { Tensor } from "@pagkit/tensor"
import { InvalidSchedulerConfigError } from "./errors.js"
import type { SchedulerConfig, SetTimestepsOptions, StepOptions, StepOutput } from "./scheduler.js"
import { checkOneOf, resolveConfig } from "./internal/config.js"
import {
  DPM_TIMESTEP_SPACINGS,
  DpmSchedulerBase,
  checkPredictionType,
  emptyHistory,
  perBatch,
  savedOutputs,
  withNumericLambdaMin,
} from "./internal/dpm-base.js"
import { normalizeSetTimesteps } from "./internal/base.js"
import { drawNoise } from "./internal/math.js"
import { convertModelOutput, convertOptionsOf } from "./internal/dpm-convert.js"
import { alphaSigmaOf, expF, f32, lambdaOf, sqrtF } from "./internal/dpm-math.js"
import { saCoefficients } from "./internal/dpm-sa-coefficients.js"
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

/** `tau_func`: the stochasticity at a timestep (0 = ODE). Default: 1 for timesteps in [200, 800], else 0. */
export type TauFunction = (timestep: number) => number

/** Options of {@link SASolverScheduler} (diffusers' names and defaults; `tau_func` may be a function or null). */
export const saSolverDefaults = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "linear",
  trained_betas: null as readonly number[] | null,
  predictor_order: 2,
  corrector_order: 2,
  prediction_type: "epsilon",
  tau_func: null as TauFunction | null,
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  sample_max_value: 1.0,
  algorithm_type: "data_prediction",
  lower_order_final: true,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  use_flow_sigmas: false,
  flow_shift: 1.0,
  lambda_min_clipped: -Infinity,
  variance_type: null as string | null,
  timestep_spacing: "linspace",
  steps_offset: 0,
}

/** Resolved config of {@link SASolverScheduler}. */
export type SASolverConfig = typeof saSolverDefaults

const defaultTau: TauFunction = (t) => (t >= 200 && t <= 800 ? 1 : 0)

/**
 * SA-Solver (`SASolverScheduler`): a stochastic multistep predictor-corrector; each step draws noise from the
 * generator passed to `step`.
 *
 * @example
 * const scheduler = new SASolverScheduler({ beta_schedule: "scaled_linear" })
 * scheduler.setTimesteps(20)
 * const { prevSample } = scheduler.step(eps, scheduler.timesteps[0]!, x, { generator: new TorchGenerator(0) })
 */
export class SASolverScheduler extends DpmSchedulerBase {
  readonly className = "SASolverScheduler"
  readonly config: SASolverConfig
  private readonly tables: VpTables
  private readonly tau: TauFunction
  private readonly history: number
  private modelOutputs: (Float32Array | undefined)[]
  private timestepList: (number | undefined)[]
  private lowerOrderNums = 0
  private lastSample: Float32Array | undefined = undefined
  private lastNoise: Float32Array | undefined = undefined
  private thisCorrectorOrder = 1

  constructor(config: SchedulerConfig = {}) {
    super()
    this.config = resolveConfig(this.className, saSolverDefaults, withNumericLambdaMin(config))
    const c = this.config
    checkOneOf(this.className, "algorithm_type", c.algorithm_type, ["data_prediction", "noise_prediction"])
    sigmaMethodOf(c, this.className)
    checkOneOf(this.className, "timestep_spacing", c.timestep_spacing, DPM_TIMESTEP_SPACINGS)
    checkPredictionType(this.className, c.prediction_type, c.algorithm_type === "data_prediction")
    const orders = [
      ["predictor_order", c.predictor_order],
      ["corrector_order", c.corrector_order],
    ] as const
    for (const [key, order] of orders) {
      if (order < 1 || order > 4) {
        throw new InvalidSchedulerConfigError(`${this.className}: ${key} must be 1 to 4, found ${order}.`)
      }
    }
    if (typeof c.tau_func !== "function" && c.tau_func !== null) {
      throw new InvalidSchedulerConfigError(`${this.className}: tau_func must be a function or null, found ${typeof c.tau_func}.`)
    }
    this.tau = c.tau_func ?? defaultTau
    this.tables = vpTables(c, this.className)
    this.history = Math.max(c.predictor_order, c.corrector_order - 1)
    this.modelOutputs = emptyHistory(this.history)
    this.timestepList = new Array<number | undefined>(this.history).fill(undefined)
  }

  private get predictX0(): boolean {
    return this.config.algorithm_type === "data_prediction"
  }

  setTimesteps(options: number | SetTimestepsOptions): void {
    const request = normalizeSetTimesteps(options)
    const c = this.config
    const n = checkStepCount(this.className, request.numInferenceSteps, c.num_train_timesteps)
    const spaced = spacedTimesteps({
      spacing: c.timestep_spacing,
      numTrainTimesteps: c.num_train_timesteps,
      lastTimestep: clippedLastTimestep(this.tables.lambdas, c.lambda_min_clipped),
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
      flowShift: c.flow_shift,
    })
    // The default schedule ends at the sigma of train step 0; the others repeat their last sigma.
    const sigmaLast = method === "interp" ? this.tables.trainSigmas[0]! : schedule.sigmas[schedule.sigmas.length - 1]!
    this.setSchedule([...Array.from(schedule.sigmas, f32), f32(sigmaLast)], toInt64Timesteps(schedule.timesteps))
    this.modelOutputs = emptyHistory(this.history)
    this.lowerOrderNums = 0
    this.lastSample = undefined
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
      toData: this.predictX0,
    })

    let current = inputs.sample
    if (index > 0 && this.lastSample !== undefined && this.lastNoise !== undefined) {
      const tau = this.tau(this.timestepList[this.timestepList.length - 1] ?? timestep)
      current = this.adamsUpdate({
        target: index,
        order: this.thisCorrectorOrder,
        outputs: [converted, ...this.outputsNewestFirst()].slice(0, this.thisCorrectorOrder),
        start: this.lastSample,
        noise: this.lastNoise,
        tau,
        corrector: true,
      })
    }
    this.modelOutputs.shift()
    this.modelOutputs.push(converted)
    this.timestepList.shift()
    this.timestepList.push(timestep)

    const noise = drawNoise(sample.shape, options.generator)
    const remaining = this.timesteps.length - index
    const predictorCap = c.lower_order_final ? Math.min(c.predictor_order, remaining) : c.predictor_order
    const correctorCap = c.lower_order_final ? Math.min(c.corrector_order, remaining + 1) : c.corrector_order
    const predictorOrder = Math.min(predictorCap, this.lowerOrderNums + 1)
    this.thisCorrectorOrder = Math.min(correctorCap, this.lowerOrderNums + 2)
    this.lastSample = current
    this.lastNoise = noise
    const prev = this.adamsUpdate({
      target: index + 1,
      order: predictorOrder,
      outputs: this.outputsNewestFirst().slice(0, predictorOrder),
      start: current,
      noise,
      tau: this.tau(timestep),
      corrector: false,
    })
    if (this.lowerOrderNums < this.history) this.lowerOrderNums++
    return this.finishStep(index, prev, sample.shape)
  }

  /** Saved model outputs, newest first. */
  private outputsNewestFirst(): Float32Array[] {
    return savedOutputs(this.modelOutputs).reverse()
  }

  /**
   * `stochastic_adams_bashforth_update` (predictor, from sigma index `target - 1` using outputs at target-1, …) or
   * `stochastic_adams_moulton_update` (corrector, whose newest output is at `target` itself).
   * `outputs` are newest first.
   */
  private adamsUpdate(args: {
    readonly target: number
    readonly order: number
    readonly outputs: readonly Float32Array[]
    readonly start: Float32Array
    readonly noise: Float32Array
    readonly tau: number
    readonly corrector: boolean
  }): Float32Array {
    const flow = this.config.use_flow_sigmas
    const { target, order, tau } = args
    const t = alphaSigmaOf(this.sigmaAt(target), flow)
    const s0 = alphaSigmaOf(this.sigmaAt(target - 1), flow)
    const lambdaT = lambdaOf(t)
    const lambdaS0 = lambdaOf(s0)
    const h = f32(lambdaT - lambdaS0)
    // Lambdas of the points the outputs belong to: predictor s0, s1, …; corrector t, s0, …
    const first = args.corrector ? target : target - 1
    const lambdas = Array.from({ length: order }, (_, k) => lambdaOf(alphaSigmaOf(this.sigmaAt(first - k), flow)))
    const coefficients = saCoefficients(order, { start: lambdaS0, end: lambdaT }, lambdas, {
      tau,
      predictX0: this.predictX0,
    })
    const scale = 1 + tau ** 2
    if (this.predictX0 && order === 2) {
      // predictor: h²/2 - (h(1+tau²) - 1 + e^(-(1+tau²)h)) / (1+tau²)², over (lambda_s0 - lambda_s1);
      // corrector: h/2 - (…) / ((1+tau²)²·h)
      const bracket = f32(f32(f32(h * scale) - 1) + expF(f32(scale * -h)))
      const inner = f32(bracket / (args.corrector ? f32(scale ** 2 * h) : scale ** 2))
      const head = args.corrector ? f32(h / 2) : f32(f32(h * h) / 2)
      let correction = f32(expF(f32(scale * lambdaT)) * f32(head - inner))
      if (!args.corrector) {
        const lambdaS1 = lambdaOf(alphaSigmaOf(this.sigmaAt(target - 2), flow))
        correction = f32(correction / f32(lambdaS0 - lambdaS1))
      }
      coefficients[0] = f32(coefficients[0]! + correction)
      coefficients[1] = f32(coefficients[1]! - correction)
    }
    const weights = coefficients.map((coef) =>
      this.predictX0
        ? f32(f32(f32(scale * t.sigma) * expF(f32(-(tau ** 2) * lambdaT))) * coef)
        : f32(f32(-scale * t.alpha) * coef),
    )
    const noiseScale = this.predictX0
      ? f32(t.sigma * sqrtF(f32(1 - expF(f32(f32(-2 * tau ** 2) * h)))))
      : f32(f32(tau * t.sigma) * sqrtF(f32(expF(f32(2 * h)) - 1)))
    const sampleScale = this.predictX0
      ? f32(expF(f32(-(tau ** 2) * h)) * f32(t.sigma / s0.sigma))
      : f32(t.alpha / s0.alpha)
    const out = new Float32Array(args.start.length)
    for (let i = 0; i < out.length; i++) {
      let gradient = 0
      for (let k = 0; k < order; k++) gradient = f32(gradient + f32(weights[k]! * args.outputs[k]![i]!))
      out[i] = f32(f32(sampleScale * args.start[i]!) + gradient) + f32(noiseScale * args.noise[i]!)
    }
    return out
  }

  /** DDPM-style `add_noise`: `sqrt(ac[t])·x0 + sqrt(1 - ac[t])·noise` at the given train timesteps. */
  override addNoise(
    originalSamples: Tensor<"float32">,
    noise: Tensor<"float32">,
    timesteps: readonly number[],
  ): Tensor<"float32"> {
    return perBatch(originalSamples, noise, timesteps.length, (row) => {
      const ac = this.tables.alphasCumprod[timesteps[row]!]
      if (ac === undefined) {
        throw new InvalidSchedulerConfigError(
          `${this.className}.addNoise: timestep ${timesteps[row]} is outside 0..${this.tables.alphasCumprod.length - 1}.`,
        )
      }
      return [sqrtF(ac), sqrtF(f32(1 - ac))]
    })
  }
}
