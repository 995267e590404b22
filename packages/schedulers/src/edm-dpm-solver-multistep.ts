// DPM-Solver++ multistep in the EDM formulation (Karras et al. preconditioning, sigma-parameterised timesteps).
// Ported from diffusers `schedulers/scheduling_edm_dpmsolver_multistep.py` (`EDMDPMSolverMultistepScheduler`).
import { Tensor } from "@pagkit/tensor"
import { InvalidSchedulerConfigError } from "./errors.js"
import type { SchedulerConfig, SetTimestepsOptions, StepOptions, StepOutput } from "./scheduler.js"
import { checkOneOf, resolveConfig } from "./internal/config.js"
import {
  DpmSchedulerBase,
  checkSolverOrder,
  emptyHistory,
  multistepOrder,
  normalizeDpmAlgorithm,
  perBatch,
  savedOutputs,
  stepInputs,
} from "./internal/dpm-base.js"
import { normalizeSetTimesteps } from "./internal/base.js"
import { drawNoise } from "./internal/math.js"
import { f32, logF, sqrtF, thresholdSample } from "./internal/dpm-math.js"
import { checkStepCount } from "./internal/dpm-schedule.js"
import { firstOrderUpdate, secondOrderUpdate, thirdOrderUpdate } from "./internal/dpm-updates.js"
import type { DpmAlgorithm, DpmSolverType, MultistepUpdate } from "./internal/dpm-updates.js"
import { torchLinspaceF32 } from "./internal/betas.js"

/** Options of {@link EDMDPMSolverMultistepScheduler} (diffusers' names and defaults). */
export const edmDpmSolverMultistepDefaults = {
  sigma_min: 0.002,
  sigma_max: 80.0,
  sigma_data: 0.5,
  sigma_schedule: "karras",
  num_train_timesteps: 1000,
  prediction_type: "epsilon",
  rho: 7.0,
  solver_order: 2,
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  sample_max_value: 1.0,
  algorithm_type: "dpmsolver++",
  solver_type: "midpoint",
  lower_order_final: true,
  euler_at_final: false,
  final_sigmas_type: "zero",
}

/** Resolved config of {@link EDMDPMSolverMultistepScheduler}. */
export type EDMDPMSolverMultistepConfig = typeof edmDpmSolverMultistepDefaults

/**
 * EDM DPM-Solver++ (`EDMDPMSolverMultistepScheduler`): Karras or exponential sigmas between `sigma_min` and
 * `sigma_max`, timesteps `0.25·log(sigma)`, inputs scaled by `1/sqrt(sigma² + sigma_data²)`.
 *
 * @example
 * const scheduler = new EDMDPMSolverMultistepScheduler({ sigma_max: 80 })
 * scheduler.setTimesteps(25)
 */
export class EDMDPMSolverMultistepScheduler extends DpmSchedulerBase {
  readonly className = "EDMDPMSolverMultistepScheduler"
  readonly config: EDMDPMSolverMultistepConfig
  private modelOutputs: (Float32Array | undefined)[]
  private lowerOrderNums = 0

  constructor(config: SchedulerConfig = {}) {
    super()
    const resolved = resolveConfig(this.className, edmDpmSolverMultistepDefaults, config)
    this.config = normalizeDpmAlgorithm(this.className, resolved, ["dpmsolver++", "sde-dpmsolver++"])
    checkOneOf(this.className, "sigma_schedule", this.config.sigma_schedule, ["karras", "exponential"])
    checkOneOf(this.className, "final_sigmas_type", this.config.final_sigmas_type, ["zero", "sigma_min"])
    checkOneOf(this.className, "prediction_type", this.config.prediction_type, ["epsilon", "v_prediction"])
    checkSolverOrder(this.className, this.config.solver_order)
    this.initNoiseSigma = (this.config.sigma_max ** 2 + 1) ** 0.5
    this.modelOutputs = emptyHistory(this.config.solver_order)
  }

  /** `_compute_karras_sigmas` / `_compute_exponential_sigmas` over a float32 ramp, in float32. */
  private scheduleSigmas(n: number): number[] {
    const c = this.config
    if (c.sigma_schedule === "exponential") {
      const logs = torchLinspaceF32(Math.log(c.sigma_min), Math.log(c.sigma_max), n)
      return Array.from(logs, (v) => f32(Math.exp(v))).reverse()
    }
    const minInvRho = c.sigma_min ** (1 / c.rho)
    const maxInvRho = c.sigma_max ** (1 / c.rho)
    const span = f32(minInvRho - maxInvRho)
    return Array.from(torchLinspaceF32(0, 1, n), (r) => f32(f32(f32(maxInvRho) + f32(r * span)) ** f32(c.rho)))
  }

  setTimesteps(options: number | SetTimestepsOptions): void {
    const request = normalizeSetTimesteps(options)
    const n = checkStepCount(this.className, request.numInferenceSteps, this.config.num_train_timesteps)
    const sigmas = this.scheduleSigmas(n)
    const sigmaLast = this.config.final_sigmas_type === "sigma_min" ? f32(this.config.sigma_min) : 0
    // precondition_noise: c_noise = 0.25·log(sigma)
    this.setSchedule([...sigmas, sigmaLast], sigmas.map((s) => f32(0.25 * logF(s))))
    this.modelOutputs = emptyHistory(this.config.solver_order)
    this.lowerOrderNums = 0
  }

  /** `precondition_inputs`: `sample / sqrt(sigma² + sigma_data²)` at the current step. */
  override scaleModelInput(sample: Tensor<"float32">, timestep: number): Tensor<"float32"> {
    const sigma = this.sigmaAt(this.currentStepIndex(timestep))
    const cIn = f32(1 / sqrtF(f32(f32(sigma * sigma) + f32(this.config.sigma_data ** 2))))
    return new Tensor("float32", sample.data.map((v) => v * cIn), sample.shape)
  }

  step(
    modelOutput: Tensor<"float32">,
    timestep: number,
    sample: Tensor<"float32">,
    options: StepOptions = {},
  ): StepOutput {
    const c = this.config
    const index = this.currentStepIndex(timestep)
    const inputs = stepInputs(this.className, modelOutput, sample)
    let x0 = this.preconditionOutputs(inputs.sample, inputs.output, this.sigmaAt(index))
    if (c.thresholding) {
      x0 = thresholdSample(x0, sample.shape, { ratio: c.dynamic_thresholding_ratio, maxValue: c.sample_max_value })
    }
    this.modelOutputs.shift()
    this.modelOutputs.push(x0)
    const noise = c.algorithm_type === "sde-dpmsolver++" ? drawNoise(sample.shape, options.generator) : undefined
    const order = multistepOrder({
      index,
      steps: this.timesteps.length,
      solverOrder: c.solver_order,
      lowerOrderNums: this.lowerOrderNums,
      lowerOrderFinal: c.lower_order_final,
      firstOrderAtFinal: c.euler_at_final || c.final_sigmas_type === "zero",
    })
    // Inputs are pre-scaled, so alpha_t = 1 and sigma_t = sigma.
    const points = [index + 1, index, index - 1, index - 2]
      .slice(0, order + 1)
      .map((i) => ({ alpha: 1, sigma: this.sigmaAt(i) }))
    const update: MultistepUpdate = {
      algorithm: c.algorithm_type as DpmAlgorithm,
      solverType: c.solver_type as DpmSolverType,
      points,
      models: savedOutputs(this.modelOutputs),
      sample: inputs.sample,
      noise,
    }
    if (order === 3 && c.algorithm_type !== "dpmsolver++") {
      throw new InvalidSchedulerConfigError(
        `${this.className}: diffusers has no third-order "${c.algorithm_type}" update. Use solver_order 2 or "dpmsolver++".`,
      )
    }
    const prev =
      order === 1 ? firstOrderUpdate(update) : order === 2 ? secondOrderUpdate(update) : thirdOrderUpdate(update)
    if (this.lowerOrderNums < c.solver_order) this.lowerOrderNums++
    return this.finishStep(index, prev, sample.shape)
  }

  /** `precondition_outputs`: `c_skip·sample + c_out·model_output` (the denoised estimate). */
  private preconditionOutputs(sample: Float32Array, output: Float32Array, sigma: number): Float32Array {
    const dataSq = f32(this.config.sigma_data ** 2)
    const denominator = f32(f32(sigma * sigma) + dataSq)
    const cSkip = f32(dataSq / denominator)
    const sign = this.config.prediction_type === "v_prediction" ? -1 : 1
    const cOut = f32(f32(sign * sigma * this.config.sigma_data) / sqrtF(denominator))
    const out = new Float32Array(sample.length)
    for (let i = 0; i < out.length; i++) out[i] = f32(cSkip * sample[i]!) + f32(cOut * output[i]!)
    return out
  }

  override addNoise(
    originalSamples: Tensor<"float32">,
    noise: Tensor<"float32">,
    timesteps: readonly number[],
  ): Tensor<"float32"> {
    const indices = this.addNoiseIndices(timesteps)
    return perBatch(originalSamples, noise, indices.length, (row) => [1, this.sigmaAt(indices[row]!)])
  }
}
