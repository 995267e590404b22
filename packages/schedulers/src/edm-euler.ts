// EDMEulerScheduler (Karras et al. 2022 EDM formulation), ported from diffusers
// `schedulers/scheduling_edm_euler.py`.
import type { Tensor } from "@pagkit/tensor"
import { SchedulerArgumentError } from "./errors.js"
import { SchedulerBase } from "./internal/base.js"
import { mixPerRow } from "./internal/broadcast.js"
import { torchLinspaceF32 } from "./internal/betas.js"
import { checkOneOf, resolveConfig } from "./internal/config.js"
import { checkStepInputs, drawNoise, elementwise } from "./internal/math.js"
import type { SchedulerConfig, SetTimestepsOptions, StepOutput } from "./scheduler.js"
import type { EulerStepOptions } from "./euler-discrete.js"

const f32 = Math.fround

/** EDMEulerScheduler's options and their diffusers defaults. */
export const edmEulerDefaults = {
  sigma_min: 0.002,
  sigma_max: 80.0,
  sigma_data: 0.5,
  sigma_schedule: "karras",
  num_train_timesteps: 1000,
  prediction_type: "epsilon",
  rho: 7.0,
  final_sigmas_type: "zero",
}

/** Resolved EDMEulerScheduler config. */
export type EDMEulerConfig = typeof edmEulerDefaults

/** `torch.linspace(start, end, n, dtype=float64)`: second half filled backwards from `end`. */
function torchLinspaceF64(start: number, end: number, n: number): number[] {
  if (n === 1) return [start]
  const step = (end - start) / (n - 1)
  const half = Math.floor(n / 2)
  return Array.from({ length: n }, (_, i) => (i < half ? start + step * i : end - step * (n - i - 1)))
}

/**
 * Euler sampler in the EDM parameterisation: the model sees `c_in·x` and `0.25·ln σ`; x0 is
 * `c_skip·x + c_out·output`.
 *
 * @example
 * const scheduler = new EDMEulerScheduler({ sigma_max: 80, sigma_min: 0.002 })
 * scheduler.setTimesteps(20)
 */
export class EDMEulerScheduler extends SchedulerBase<EDMEulerConfig> {
  readonly className = "EDMEulerScheduler"

  constructor(config: SchedulerConfig = {}) {
    const c = resolveConfig("EDMEulerScheduler", edmEulerDefaults, config)
    checkOneOf("EDMEulerScheduler", "sigma_schedule", c.sigma_schedule, ["karras", "exponential"])
    checkOneOf("EDMEulerScheduler", "prediction_type", c.prediction_type, ["epsilon", "v_prediction"])
    checkOneOf("EDMEulerScheduler", "final_sigmas_type", c.final_sigmas_type, ["zero", "sigma_min"])
    super(c)
    this.initNoiseSigma = Math.sqrt(c.sigma_max ** 2 + 1)
    const ramp = Array.from({ length: c.num_train_timesteps + 1 }, (_, i) => i / c.num_train_timesteps)
    this.setTables(ramp)
  }

  private setTables(ramp: readonly number[]): void {
    const c = this.config
    let sigmas: number[]
    if (c.sigma_schedule === "karras") {
      const minInvRho = c.sigma_min ** (1 / c.rho)
      const maxInvRho = c.sigma_max ** (1 / c.rho)
      sigmas = ramp.map((r) => f32((maxInvRho + r * (minInvRho - maxInvRho)) ** c.rho))
    } else {
      // torch.linspace(log σ_min, log σ_max, len(ramp)) in the default float32, exp, flip
      sigmas = Array.from(torchLinspaceF32(Math.log(c.sigma_min), Math.log(c.sigma_max), ramp.length), (v) =>
        f32(Math.exp(v)),
      ).reverse()
    }
    this.timestepTable = sigmas.map((s) => f32(0.25 * f32(Math.log(s))))
    const sigmaLast = c.final_sigmas_type === "sigma_min" ? sigmas[sigmas.length - 1]! : 0
    this.sigmaTable = [...sigmas, sigmaLast]
  }

  /**
   * `set_timesteps`: `numInferenceSteps` points of the schedule; `sigmas`, as in diffusers, are taken as the ramp
   * in [0, 1] the schedule is evaluated at.
   */
  setTimesteps(options: number | SetTimestepsOptions): void {
    const opts = typeof options === "number" ? { numInferenceSteps: options } : options
    let ramp: readonly number[]
    if (opts.sigmas !== undefined) ramp = opts.sigmas
    else {
      const n = opts.numInferenceSteps
      if (n === undefined || !Number.isInteger(n) || n < 1) {
        throw new SchedulerArgumentError(
          `${this.className}.setTimesteps: numInferenceSteps should be a whole number >= 1, found ${String(n)}.`,
        )
      }
      ramp = torchLinspaceF64(0, 1, n)
    }
    this.numInferenceSteps = opts.numInferenceSteps ?? ramp.length
    this.setTables(ramp)
    this.stepIndexValue = undefined
    this.beginIndexValue = undefined
  }

  /** `c_in = 1 / √(σ² + σ_data²)`. */
  private cIn(sigma: number): number {
    return f32(1 / f32(Math.sqrt(f32(f32(sigma * sigma) + this.config.sigma_data ** 2))))
  }

  override scaleModelInput(sample: Tensor<"float32">, timestep: number): Tensor<"float32"> {
    const sigma = this.sigmaTable![this.initStepIndex(timestep)]!
    const cIn = this.cIn(sigma)
    return elementwise(sample.shape, sample.data.length, (i) => sample.data[i]! * cIn)
  }

  /** `precondition_outputs`: x0 = c_skip·x + c_out·output. */
  preconditionOutputs(sample: Tensor<"float32">, modelOutput: Tensor<"float32">, sigma: number): Tensor<"float32"> {
    const sd = this.config.sigma_data
    const denom = f32(f32(sigma * sigma) + sd ** 2)
    const cSkip = f32(sd ** 2 / denom)
    const sign = this.config.prediction_type === "epsilon" ? 1 : -1
    const cOut = f32(f32(sign * sigma * sd) / f32(Math.sqrt(denom)))
    return elementwise(
      sample.shape,
      sample.data.length,
      (i) => f32(cSkip * sample.data[i]!) + f32(cOut * modelOutput.data[i]!),
    )
  }

  step(
    modelOutput: Tensor<"float32">,
    timestep: number,
    sample: Tensor<"float32">,
    options: EulerStepOptions = {},
  ): StepOutput {
    checkStepInputs(this.className, modelOutput, sample)
    this.requireTimesteps()
    const index = this.initStepIndex(timestep)
    const sigmas = this.sigmaTable!
    const sigma = sigmas[index]!
    const sTmin = options.sTmin ?? 0
    const sTmax = options.sTmax ?? Infinity
    const gamma =
      sTmin <= sigma && sigma <= sTmax ? Math.min((options.sChurn ?? 0) / (sigmas.length - 1), 2 ** 0.5 - 1) : 0
    const sigmaHat = f32(sigma * (gamma + 1))
    let x = sample
    if (gamma > 0) {
      const noise = drawNoise(modelOutput.shape, options.generator)
      const spread = f32(Math.sqrt(f32(f32(sigmaHat * sigmaHat) - f32(sigma * sigma))))
      const sNoise = options.sNoise ?? 1
      const before = x.data
      x = elementwise(x.shape, before.length, (i) => before[i]! + f32(f32(noise[i]! * sNoise) * spread))
    }
    const predOriginalSample = this.preconditionOutputs(x, modelOutput, sigmaHat)
    const dt = f32(sigmas[index + 1]! - sigmaHat)
    const xs = x.data
    const x0 = predOriginalSample.data
    const prevSample = elementwise(x.shape, xs.length, (i) => xs[i]! + f32(f32(f32(xs[i]! - x0[i]!) / sigmaHat) * dt))
    this.stepIndexValue = index + 1
    return { prevSample, predOriginalSample }
  }

  addNoise(original: Tensor<"float32">, noise: Tensor<"float32">, timesteps: readonly number[]): Tensor<"float32"> {
    const sigmas = this.addNoiseIndices(timesteps).map((i) => this.sigmaTable![i]!)
    return mixPerRow(original, noise, {
      original: sigmas.map(() => 1),
      noise: sigmas,
      what: `${this.className}.addNoise`,
    })
  }
}
