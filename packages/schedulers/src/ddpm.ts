// DDPMScheduler, ported from diffusers `schedulers/scheduling_ddpm.py` (`DDPMScheduler`).
import { Tensor } from "@pagkit/tensor"
import { InvalidSchedulerConfigError, SchedulerArgumentError } from "./errors.js"
import { PREDICTION_TYPES, addNoiseAtTrainTimesteps, alphasCumprodFor } from "./internal/alphas.js"
import { SchedulerBase, checkInferenceSteps, normalizeSetTimesteps } from "./internal/base.js"
import {
  betasForAlphaBar,
  alphasCumprod as cumprod,
  rescaleZeroTerminalSnr,
  torchLinspaceF32,
} from "./internal/betas.js"
import { checkOneOf, resolveConfig } from "./internal/config.js"
import {
  checkStepInputs,
  clampTensor,
  drawNoise,
  elementwise,
  linearCombination,
  thresholdSample,
} from "./internal/math.js"
import { TIMESTEP_SPACINGS, spacedTimesteps } from "./internal/sigmas.js"
import type { SchedulerConfig, SetTimestepsOptions, StepOptions, StepOutput } from "./scheduler.js"

const f32 = Math.fround

/** DDPMScheduler's options and their diffusers defaults. */
export const ddpmDefaults = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "linear",
  trained_betas: null as readonly number[] | null,
  variance_type: "fixed_small",
  clip_sample: true,
  prediction_type: "epsilon",
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  clip_sample_range: 1.0,
  sample_max_value: 1.0,
  timestep_spacing: "leading",
  steps_offset: 0,
  rescale_betas_zero_snr: false,
}

/** Resolved DDPMScheduler config. */
export type DDPMConfig = typeof ddpmDefaults

const VARIANCE_TYPES = [
  "fixed_small",
  "fixed_small_log",
  "fixed_large",
  "fixed_large_log",
  "learned",
  "learned_range",
] as const

/** DDPM betas: the shared schedules plus `laplace` and `sigmoid`, which only DDPM accepts. */
function ddpmAlphasCumprod(c: DDPMConfig): Float32Array {
  let betas: Float32Array
  if (c.trained_betas == null && c.beta_schedule === "laplace") {
    betas = betasForAlphaBar(c.num_train_timesteps, 0.999, "laplace")
  } else if (c.trained_betas == null && c.beta_schedule === "sigmoid") {
    // torch.sigmoid(torch.linspace(-6, 6, n)) * (end - start) + start, float32
    betas = torchLinspaceF32(-6, 6, c.num_train_timesteps).map((v) =>
      f32(f32(f32(1 / (1 + Math.exp(-v))) * (c.beta_end - c.beta_start)) + c.beta_start),
    )
  } else {
    return alphasCumprodFor(c, "DDPMScheduler")
  }
  return cumprod(c.rescale_betas_zero_snr ? rescaleZeroTerminalSnr(betas) : betas)
}

/**
 * Denoising diffusion probabilistic models (DDPM): ancestral sampling with one noise draw per step (except t = 0).
 *
 * @example
 * const scheduler = new DDPMScheduler({ beta_schedule: "scaled_linear", clip_sample: false })
 * scheduler.setTimesteps(50)
 */
export class DDPMScheduler extends SchedulerBase<DDPMConfig> {
  readonly className = "DDPMScheduler"
  readonly alphasCumprod: Float32Array
  private customTimesteps = false

  constructor(config: SchedulerConfig = {}) {
    const c = resolveConfig("DDPMScheduler", ddpmDefaults, config)
    checkOneOf("DDPMScheduler", "prediction_type", c.prediction_type, PREDICTION_TYPES)
    checkOneOf("DDPMScheduler", "timestep_spacing", c.timestep_spacing, TIMESTEP_SPACINGS)
    checkOneOf("DDPMScheduler", "variance_type", c.variance_type, VARIANCE_TYPES)
    super(c)
    this.alphasCumprod = ddpmAlphasCumprod(c)
    this.timestepTable = Array.from({ length: c.num_train_timesteps }, (_, i) => c.num_train_timesteps - 1 - i)
  }

  setTimesteps(options: number | SetTimestepsOptions): void {
    const c = this.config
    const opts = normalizeSetTimesteps(options)
    if (opts.timesteps !== undefined) {
      if (opts.numInferenceSteps !== undefined) {
        throw new SchedulerArgumentError(
          `${this.className}.setTimesteps: pass numInferenceSteps or timesteps, not both.`,
        )
      }
      const ts = opts.timesteps
      for (let i = 1; i < ts.length; i++) {
        if (ts[i]! >= ts[i - 1]!) {
          throw new SchedulerArgumentError(
            `${this.className}.setTimesteps: custom timesteps must be in descending order, found ${ts[i - 1]} then ${ts[i]}.`,
          )
        }
      }
      if ((ts[0] ?? 0) >= c.num_train_timesteps) {
        throw new SchedulerArgumentError(
          `${this.className}.setTimesteps: timesteps must start below num_train_timesteps (${c.num_train_timesteps}), found ${ts[0]}.`,
        )
      }
      this.timestepTable = ts.map((t) => Math.trunc(t))
      this.customTimesteps = true
      this.numInferenceSteps = ts.length
      return
    }
    const n = checkInferenceSteps(this.className, opts.numInferenceSteps, c.num_train_timesteps)
    this.numInferenceSteps = n
    this.customTimesteps = false
    this.timestepTable = spacedTimesteps(c.timestep_spacing, c.num_train_timesteps, n, c.steps_offset)
  }

  /** `previous_timestep(t)`: the next entry of `timesteps`, or −1 after the last. */
  previousTimestep(timestep: number): number {
    if (!this.customTimesteps && this.numInferenceSteps === undefined) return timestep - 1
    const index = this.timestepTable.indexOf(timestep)
    if (index < 0) {
      throw new SchedulerArgumentError(`${this.className}: timestep ${timestep} is not in scheduler.timesteps.`)
    }
    return index === this.timestepTable.length - 1 ? -1 : this.timestepTable[index + 1]!
  }

  /** `_get_variance(t)` for the fixed variance types (the learned ones need the model's variance channels). */
  protected variance(
    t: number,
    predictedVariance: Float32Array | undefined,
  ): { value: number; learned?: Float32Array } {
    const prevT = this.previousTimestep(t)
    const alphaProdT = this.alphasCumprod[t]!
    const alphaProdTPrev = prevT >= 0 ? this.alphasCumprod[prevT]! : 1
    const currentBetaT = f32(1 - f32(alphaProdT / alphaProdTPrev))
    const variance = Math.max(f32(f32(f32(1 - alphaProdTPrev) / f32(1 - alphaProdT)) * currentBetaT), 1e-20)
    switch (this.config.variance_type) {
      case "fixed_small":
        return { value: variance }
      case "fixed_small_log":
        return { value: f32(Math.exp(f32(0.5 * f32(Math.log(variance))))) }
      case "fixed_large":
        return { value: currentBetaT }
      case "fixed_large_log":
        return { value: f32(Math.log(currentBetaT)) }
      default: {
        if (predictedVariance === undefined) {
          throw new InvalidSchedulerConfigError(
            `${this.className}: variance_type "${this.config.variance_type}" needs a model output with twice the sample's channels (the predicted variance).`,
          )
        }
        if (this.config.variance_type === "learned") return { value: 0, learned: predictedVariance }
        const minLog = f32(Math.log(variance))
        const maxLog = f32(Math.log(currentBetaT))
        return {
          value: 0,
          learned: predictedVariance.map((v) => {
            const frac = f32(f32(v + 1) / 2)
            return f32(frac * maxLog) + f32(f32(1 - frac) * minLog)
          }),
        }
      }
    }
  }

  step(
    modelOutputIn: Tensor<"float32">,
    timestep: number,
    sample: Tensor<"float32">,
    options: StepOptions = {},
  ): StepOutput {
    const c = this.config
    if (!Number.isInteger(timestep) || this.alphasCumprod[timestep] === undefined) {
      throw new SchedulerArgumentError(
        `${this.className}.step: timestep should be a whole number in [0, ${c.num_train_timesteps}), found ${timestep}.`,
      )
    }
    let modelOutput = modelOutputIn
    let predictedVariance: Float32Array | undefined
    const channels = sample.shape[1] ?? 0
    if (
      modelOutputIn.shape[1] === channels * 2 &&
      (c.variance_type === "learned" || c.variance_type === "learned_range")
    ) {
      ;[modelOutput, predictedVariance] = splitChannels(modelOutputIn, channels)
    }
    checkStepInputs(this.className, modelOutput, sample)
    const t = timestep
    const prevT = this.previousTimestep(t)
    const alphaProdT = this.alphasCumprod[t]!
    const alphaProdTPrev = prevT >= 0 ? this.alphasCumprod[prevT]! : 1
    const betaProdT = f32(1 - alphaProdT)
    const betaProdTPrev = f32(1 - alphaProdTPrev)
    const currentAlphaT = f32(alphaProdT / alphaProdTPrev)
    const currentBetaT = f32(1 - currentAlphaT)
    const sqrtAlpha = f32(Math.sqrt(alphaProdT))
    const sqrtBeta = f32(Math.sqrt(betaProdT))
    const m = modelOutput.data
    const x = sample.data
    let predOriginalSample =
      c.prediction_type === "epsilon"
        ? elementwise(sample.shape, x.length, (i) => (x[i]! - sqrtBeta * m[i]!) / sqrtAlpha)
        : c.prediction_type === "sample"
          ? modelOutput
          : linearCombination(sample.shape, [
              [sqrtAlpha, x],
              [-sqrtBeta, m],
            ])
    if (c.thresholding) {
      predOriginalSample = thresholdSample(predOriginalSample, c.dynamic_thresholding_ratio, c.sample_max_value)
    } else if (c.clip_sample) predOriginalSample = clampTensor(predOriginalSample, c.clip_sample_range)
    const x0Coeff = f32(f32(f32(Math.sqrt(alphaProdTPrev)) * currentBetaT) / betaProdT)
    const sampleCoeff = f32(f32(f32(Math.sqrt(currentAlphaT)) * betaProdTPrev) / betaProdT)
    const x0 = predOriginalSample.data
    let noiseTerm: ((i: number) => number) | undefined
    if (t > 0) {
      const noise = drawNoise(modelOutput.shape, options.generator)
      const { value, learned } = this.variance(t, predictedVariance)
      if (c.variance_type === "fixed_small_log") noiseTerm = (i) => f32(value * noise[i]!)
      else if (c.variance_type === "learned_range") {
        noiseTerm = (i) => f32(f32(Math.exp(f32(0.5 * learned![i]!))) * noise[i]!)
      } else if (learned !== undefined) noiseTerm = (i) => f32(f32(Math.sqrt(learned[i]!)) * noise[i]!)
      else {
        const std = f32(Math.sqrt(value))
        noiseTerm = (i) => f32(std * noise[i]!)
      }
    }
    const prevSample = elementwise(sample.shape, x.length, (i) => {
      const mean = f32(f32(x0Coeff * x0[i]!) + f32(sampleCoeff * x[i]!))
      return noiseTerm === undefined ? mean : mean + noiseTerm(i)
    })
    return { prevSample, predOriginalSample }
  }

  addNoise(original: Tensor<"float32">, noise: Tensor<"float32">, timesteps: readonly number[]): Tensor<"float32"> {
    return addNoiseAtTrainTimesteps(this.className, this.alphasCumprod, { original, noise, timesteps })
  }
}

/** `torch.split(model_output, channels, dim=1)` for a [batch, 2·channels, …] output. */
function splitChannels(output: Tensor<"float32">, channels: number): [Tensor<"float32">, Float32Array] {
  const batch = output.shape[0] ?? 1
  const inner = output.data.length / batch / (2 * channels)
  const mean = new Float32Array(batch * channels * inner)
  const variance = new Float32Array(batch * channels * inner)
  for (let b = 0; b < batch; b++) {
    const src = b * 2 * channels * inner
    mean.set(output.data.subarray(src, src + channels * inner), b * channels * inner)
    variance.set(output.data.subarray(src + channels * inner, src + 2 * channels * inner), b * channels * inner)
  }
  const shape = [batch, channels, ...output.shape.slice(2)]
  return [new Tensor("float32", mean, shape), variance]
}
