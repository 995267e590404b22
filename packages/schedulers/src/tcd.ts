// TCDScheduler (trajectory consistency distillation), ported from diffusers `schedulers/scheduling_tcd.py`.
import type { Tensor } from "@pagkit/tensor"
import { SchedulerArgumentError } from "./errors.js"
import { PREDICTION_TYPES, predictX0AndEpsilon } from "./internal/alphas.js"
import { checkOneOf, resolveConfig } from "./internal/config.js"
import { ConsistencySchedulerBase, consistencyDefaults } from "./internal/consistency.js"
import { checkStepInputs, drawNoise, elementwise } from "./internal/math.js"
import { TIMESTEP_SPACINGS } from "./internal/sigmas.js"
import type { SchedulerConfig, StepOptions, StepOutput } from "./scheduler.js"

const f32 = Math.fround

/** TCDScheduler's options and their diffusers defaults (LCM's). */
export const tcdDefaults = consistencyDefaults

/** Extra options of {@link TCDScheduler.step}. */
export interface TCDStepOptions extends StepOptions {
  /** γ in [0, 1]: the stochasticity of each step (diffusers' `eta`, default 0.3). */
  readonly eta?: number
}

/** What {@link TCDScheduler.step} returns. */
export interface TCDStepOutput extends StepOutput {
  readonly predNoisedSample: Tensor<"float32">
}

/**
 * Strategic stochastic sampling for TCD-distilled models: predicts x0, re-noises to an intermediate timestep
 * `s = floor((1 − γ)·t_prev)`, then adds fresh noise to reach `t_prev`.
 *
 * @example
 * const scheduler = new TCDScheduler({ beta_schedule: "scaled_linear" })
 * scheduler.setTimesteps(4)
 * scheduler.step(noisePred, t, latents, { eta: 0.3, generator })
 */
export class TCDScheduler extends ConsistencySchedulerBase {
  readonly className = "TCDScheduler"
  protected readonly fullGridWhenOverridden = true

  constructor(config: SchedulerConfig = {}) {
    const c = resolveConfig("TCDScheduler", consistencyDefaults, config)
    checkOneOf("TCDScheduler", "prediction_type", c.prediction_type, PREDICTION_TYPES)
    checkOneOf("TCDScheduler", "timestep_spacing", c.timestep_spacing, TIMESTEP_SPACINGS)
    super("TCDScheduler", c)
  }

  step(
    modelOutput: Tensor<"float32">,
    timestep: number,
    sample: Tensor<"float32">,
    options: TCDStepOptions = {},
  ): TCDStepOutput {
    checkStepInputs(this.className, modelOutput, sample)
    this.requireTimesteps()
    const eta = options.eta ?? 0.3
    if (!(eta >= 0 && eta <= 1)) {
      throw new SchedulerArgumentError(`${this.className}.step: eta (gamma) should be in [0, 1], found ${eta}.`)
    }
    const index = this.initStepIndex(timestep)
    const prevTimestep = index + 1 < this.timestepTable.length ? this.timestepTable[index + 1]! : 0
    const timestepS = Math.floor(f32(f32(1 - eta) * prevTimestep))
    const alphaProdT = this.alphaAt(timestep)
    const alphaProdTPrev = prevTimestep >= 0 ? this.alphaAt(prevTimestep) : this.finalAlphaCumprod
    const alphaProdS = this.alphaAt(timestepS)
    const betaProdS = f32(1 - alphaProdS)
    const { predOriginalSample, predEpsilon } = predictX0AndEpsilon(
      this.config.prediction_type,
      alphaProdT,
      modelOutput,
      sample,
    )
    const sqrtAlphaS = f32(Math.sqrt(alphaProdS))
    const sqrtBetaS = f32(Math.sqrt(betaProdS))
    const x0 = predOriginalSample.data
    const eps = predEpsilon.data
    const predNoisedSample = elementwise(
      sample.shape,
      x0.length,
      (i) => f32(sqrtAlphaS * x0[i]!) + f32(sqrtBetaS * eps[i]!),
    )
    let prevSample = predNoisedSample
    if (eta > 0 && index !== this.numInferenceSteps! - 1) {
      const noise = drawNoise(modelOutput.shape, options.generator)
      const ratio = f32(alphaProdTPrev / alphaProdS)
      const a = f32(Math.sqrt(ratio))
      const b = f32(Math.sqrt(f32(1 - ratio)))
      const noised = predNoisedSample.data
      prevSample = elementwise(sample.shape, x0.length, (i) => f32(a * noised[i]!) + f32(b * noise[i]!))
    }
    this.stepIndexValue = index + 1
    return { prevSample, predOriginalSample, predNoisedSample }
  }
}
