// LMSDiscreteScheduler (linear multistep), ported from diffusers `schedulers/scheduling_lms_discrete.py`.
import type { Tensor } from "@pagkit/tensor"
import { SchedulerArgumentError } from "./errors.js"
import { alphasCumprodFor } from "./internal/alphas.js"
import { checkInferenceSteps, normalizeSetTimesteps } from "./internal/base.js"
import { checkOneOf, checkSingleSigmaConversion, resolveConfig } from "./internal/config.js"
import { KarrasSchedulerBase, karrasPredictX0 } from "./internal/karras-base.js"
import { eulerSpacedTimesteps, karrasStyleTables } from "./internal/karras-tables.js"
import { checkStepInputs, elementwise } from "./internal/math.js"
import { TIMESTEP_SPACINGS, sigmaConversionOf } from "./internal/sigmas.js"
import type { SchedulerConfig, SetTimestepsOptions, StepOptions, StepOutput } from "./scheduler.js"

const f32 = Math.fround

/** LMSDiscreteScheduler's options and their diffusers defaults. */
export const lmsDiscreteDefaults = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "linear",
  trained_betas: null as readonly number[] | null,
  use_karras_sigmas: false as boolean | null,
  use_exponential_sigmas: false as boolean | null,
  use_beta_sigmas: false as boolean | null,
  prediction_type: "epsilon",
  timestep_spacing: "linspace",
  steps_offset: 0,
}

/** Resolved LMSDiscreteScheduler config. */
export type LMSDiscreteConfig = typeof lmsDiscreteDefaults

/** Extra options of {@link LMSDiscreteScheduler.step}. */
export interface LMSStepOptions extends StepOptions {
  /** Multistep order (default 4). */
  readonly order?: number
}

// 8-point Gauss–Legendre nodes and weights on [-1, 1]: exact for the degree ≤ 3 Lagrange basis integrated here,
// so it agrees with scipy.integrate.quad to rounding.
const GL_NODES = [
  -0.9602898564975363, -0.7966664774136267, -0.525532409916329, -0.1834346424956498, 0.1834346424956498,
  0.525532409916329, 0.7966664774136267, 0.9602898564975363,
]
const GL_WEIGHTS = [
  0.1012285362903763, 0.2223810344533745, 0.3137066458778873, 0.362683783378362, 0.362683783378362, 0.3137066458778873,
  0.2223810344533745, 0.1012285362903763,
]

/** ∫ f over [a, b] by Gauss–Legendre quadrature. */
function integrate(f: (tau: number) => number, a: number, b: number): number {
  const half = (b - a) / 2
  const mid = (a + b) / 2
  let sum = 0
  for (let i = 0; i < GL_NODES.length; i++) sum += GL_WEIGHTS[i]! * f(mid + half * GL_NODES[i]!)
  return sum * half
}

/**
 * Linear multistep sampler (Karras et al. 2022): combines the last `order` derivatives with Lagrange weights
 * integrated over each σ interval.
 *
 * @example
 * const scheduler = new LMSDiscreteScheduler({ beta_schedule: "scaled_linear" })
 * scheduler.setTimesteps(25)
 */
export class LMSDiscreteScheduler extends KarrasSchedulerBase<LMSDiscreteConfig> {
  readonly className = "LMSDiscreteScheduler"
  readonly alphasCumprod: Float32Array
  private derivatives: Float32Array[] = []

  constructor(config: SchedulerConfig = {}) {
    const c = resolveConfig("LMSDiscreteScheduler", lmsDiscreteDefaults, config)
    checkSingleSigmaConversion("LMSDiscreteScheduler", c)
    checkOneOf("LMSDiscreteScheduler", "prediction_type", c.prediction_type, ["epsilon", "v_prediction", "sample"])
    checkOneOf("LMSDiscreteScheduler", "timestep_spacing", c.timestep_spacing, TIMESTEP_SPACINGS)
    super(c)
    this.alphasCumprod = alphasCumprodFor(c, this.className)
    this.setTimesteps(c.num_train_timesteps)
  }

  setTimesteps(options: number | SetTimestepsOptions): void {
    const c = this.config
    const n = checkInferenceSteps(
      this.className,
      normalizeSetTimesteps(options).numInferenceSteps,
      c.num_train_timesteps,
    )
    this.numInferenceSteps = n
    const spaced = eulerSpacedTimesteps(c.timestep_spacing, c.num_train_timesteps, n, c.steps_offset)
    const tables = karrasStyleTables({
      alphasCumprod: this.alphasCumprod,
      numInferenceSteps: n,
      timesteps: spaced,
      conversion: sigmaConversionOf(c),
    })
    this.sigmaTable = Array.from(Float32Array.from([...tables.sigmas, 0]))
    this.timestepTable = Array.from(Float32Array.from(tables.timesteps))
    this.derivatives = []
    this.stepIndexValue = undefined
    this.beginIndexValue = undefined
    this.updateInitNoiseSigma()
  }

  /** `get_lms_coefficient(order, t, current_order)`: ∫ of the Lagrange basis polynomial over [σ_t, σ_{t+1}]. */
  lmsCoefficient(order: number, t: number, currentOrder: number): number {
    const sigmas = this.sigmaTable!
    const basis = (tau: number): number => {
      let prod = 1
      for (let k = 0; k < order; k++) {
        if (k === currentOrder) continue
        prod *= (tau - sigmas[t - k]!) / (sigmas[t - currentOrder]! - sigmas[t - k]!)
      }
      return prod
    }
    return integrate(basis, sigmas[t]!, sigmas[t + 1]!)
  }

  step(
    modelOutput: Tensor<"float32">,
    timestep: number,
    sample: Tensor<"float32">,
    options: LMSStepOptions = {},
  ): StepOutput {
    checkStepInputs(this.className, modelOutput, sample)
    this.requireTimesteps()
    const maxOrder = options.order ?? 4
    if (!Number.isInteger(maxOrder) || maxOrder < 1) {
      throw new SchedulerArgumentError(
        `${this.className}.step: order should be a whole number >= 1, found ${maxOrder}.`,
      )
    }
    const sigma = this.currentSigma(timestep)
    const index = this.stepIndexValue!
    const predOriginalSample = karrasPredictX0(this.className, this.config.prediction_type, sigma, modelOutput, sample)
    const x = sample.data
    const x0 = predOriginalSample.data
    this.derivatives.push(x.map((v, i) => f32(v - x0[i]!) / sigma))
    if (this.derivatives.length > maxOrder) this.derivatives.shift()
    const order = Math.min(index + 1, maxOrder)
    const coefficients = Array.from({ length: order }, (_, k) => this.lmsCoefficient(order, index, k))
    const newestFirst = [...this.derivatives].reverse()
    const prevSample = elementwise(sample.shape, x.length, (i) => {
      let sum = 0
      // zip(coeffs, reversed(derivatives)): stops at the shorter list (a begin index past the start)
      for (let k = 0; k < Math.min(coefficients.length, newestFirst.length); k++) {
        sum += f32(coefficients[k]! * newestFirst[k]![i]!)
      }
      return x[i]! + sum
    })
    this.stepIndexValue = index + 1
    return { prevSample, predOriginalSample }
  }
}
