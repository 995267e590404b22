// EulerDiscreteScheduler, ported from diffusers `schedulers/scheduling_euler_discrete.py`.
import type { Tensor } from "@pagkit/tensor"
import { SchedulerArgumentError } from "./errors.js"
import { alphasCumprodFor } from "./internal/alphas.js"
import { normalizeSetTimesteps } from "./internal/base.js"
import { checkOneOf, checkSingleSigmaConversion, resolveConfig } from "./internal/config.js"
import { KarrasSchedulerBase, karrasPredictX0 } from "./internal/karras-base.js"
import { karrasStyleTables } from "./internal/karras-tables.js"
import { checkStepInputs, drawNoise, elementwise } from "./internal/math.js"
import { TIMESTEP_SPACINGS, logF32, sigmaConversionOf, sigmaToT } from "./internal/sigmas.js"
import { sigmasFromAlphasCumprod } from "./internal/betas.js"
import type { SchedulerConfig, SetTimestepsOptions, StepOptions, StepOutput } from "./scheduler.js"

const f32 = Math.fround

/** EulerDiscreteScheduler's options and their diffusers defaults. */
export const eulerDiscreteDefaults = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "linear",
  trained_betas: null as readonly number[] | null,
  prediction_type: "epsilon",
  interpolation_type: "linear",
  use_karras_sigmas: false as boolean | null,
  use_exponential_sigmas: false as boolean | null,
  use_beta_sigmas: false as boolean | null,
  sigma_min: null as number | null,
  sigma_max: null as number | null,
  timestep_spacing: "linspace",
  timestep_type: "discrete",
  steps_offset: 0,
  rescale_betas_zero_snr: false,
  final_sigmas_type: "zero",
}

/** Resolved EulerDiscreteScheduler config. */
export type EulerDiscreteConfig = typeof eulerDiscreteDefaults

/** Extra options of {@link EulerDiscreteScheduler.step} (Karras et al. "churn"). */
export interface EulerStepOptions extends StepOptions {
  /** Karras churn (`s_churn`): γ = min(sChurn / (N − 1), √2 − 1) on steps with sTmin ≤ σ ≤ sTmax; default 0 (deterministic). */
  readonly sChurn?: number
  /** Churn applies only for sigmas ≥ `sTmin` (`s_tmin`); default 0. */
  readonly sTmin?: number
  /** Churn applies only for sigmas ≤ `sTmax` (`s_tmax`); default infinity. */
  readonly sTmax?: number
  /** Scale of the churn noise (`s_noise`); default 1. */
  readonly sNoise?: number
}

/**
 * Euler sampler (Karras et al. 2022, Algorithm 2) over discrete train timesteps — SDXL's default scheduler.
 *
 * @example
 * const scheduler = new EulerDiscreteScheduler({ beta_schedule: "scaled_linear", timestep_spacing: "leading", steps_offset: 1 })
 * scheduler.setTimesteps(25)
 */
export class EulerDiscreteScheduler extends KarrasSchedulerBase<EulerDiscreteConfig> {
  readonly className = "EulerDiscreteScheduler"
  readonly alphasCumprod: Float32Array

  constructor(config: SchedulerConfig = {}) {
    const c = resolveConfig("EulerDiscreteScheduler", eulerDiscreteDefaults, config)
    checkSingleSigmaConversion("EulerDiscreteScheduler", c)
    checkOneOf("EulerDiscreteScheduler", "prediction_type", c.prediction_type, [
      "epsilon",
      "v_prediction",
      "sample",
      "original_sample",
    ])
    checkOneOf("EulerDiscreteScheduler", "timestep_spacing", c.timestep_spacing, TIMESTEP_SPACINGS)
    checkOneOf("EulerDiscreteScheduler", "interpolation_type", c.interpolation_type, ["linear", "log_linear"])
    checkOneOf("EulerDiscreteScheduler", "timestep_type", c.timestep_type, ["discrete", "continuous"])
    checkOneOf("EulerDiscreteScheduler", "final_sigmas_type", c.final_sigmas_type, ["zero", "sigma_min"])
    super(c)
    this.alphasCumprod = alphasCumprodFor(c, this.className)
    // diffusers pins the last ᾱ to 2^-24 under zero-SNR so σ stays finite
    if (c.rescale_betas_zero_snr) this.alphasCumprod[this.alphasCumprod.length - 1] = 2 ** -24
    const trainSigmas = Array.from(sigmasFromAlphasCumprod(this.alphasCumprod)).reverse()
    this.sigmaTable = [...trainSigmas, 0]
    this.timestepTable = this.continuousV()
      ? trainSigmas.map((s) => f32(0.25 * f32(Math.log(s))))
      : Array.from({ length: c.num_train_timesteps }, (_, i) => f32(c.num_train_timesteps - 1 - i))
    this.updateInitNoiseSigma()
  }

  private continuousV(): boolean {
    return this.config.timestep_type === "continuous" && this.config.prediction_type === "v_prediction"
  }

  setTimesteps(options: number | SetTimestepsOptions): void {
    const c = this.config
    const opts = normalizeSetTimesteps(options)
    const conversion = sigmaConversionOf(c)
    const given = [opts.numInferenceSteps, opts.timesteps, opts.sigmas].filter((v) => v !== undefined).length
    if (given !== 1) {
      throw new SchedulerArgumentError(
        `${this.className}.setTimesteps: pass exactly one of numInferenceSteps, timesteps or sigmas (found ${given}).`,
      )
    }
    if (opts.timesteps !== undefined && (conversion !== undefined || this.continuousV())) {
      throw new SchedulerArgumentError(
        `${this.className}.setTimesteps: custom timesteps cannot be combined with use_${conversion ?? "continuous"}${conversion ? "_sigmas" : " v_prediction"}. Pass sigmas or numInferenceSteps instead.`,
      )
    }
    let sigmas: Float32Array
    let timesteps: ArrayLike<number>
    if (opts.sigmas !== undefined) {
      if (opts.sigmas.length < 2) {
        throw new SchedulerArgumentError(
          `${this.className}.setTimesteps: sigmas needs at least 2 values (the last is the final sigma).`,
        )
      }
      this.numInferenceSteps = opts.sigmas.length - 1
      const logSigmas = logF32(sigmasFromAlphasCumprod(this.alphasCumprod))
      sigmas = Float32Array.from(opts.sigmas)
      timesteps = Array.from(sigmas.subarray(0, -1), (s) => sigmaToT(s, logSigmas))
    } else {
      const { n, spaced } = this.requestedTimesteps(opts)
      const tables = karrasStyleTables({
        alphasCumprod: this.alphasCumprod,
        numInferenceSteps: n,
        timesteps: spaced,
        conversion,
        sigmaMin: c.sigma_min,
        sigmaMax: c.sigma_max,
        interpolation: c.interpolation_type as "linear" | "log_linear",
      })
      const sigmaLast =
        c.final_sigmas_type === "sigma_min"
          ? f32(Math.sqrt(f32(f32(1 - this.alphasCumprod[0]!) / this.alphasCumprod[0]!)))
          : 0
      sigmas = Float32Array.from([...tables.sigmas, sigmaLast])
      timesteps = tables.timesteps
    }
    this.sigmaTable = Array.from(sigmas)
    this.timestepTable = this.continuousV()
      ? Array.from(sigmas.subarray(0, -1), (s) => f32(0.25 * f32(Math.log(s))))
      : Array.from(Float32Array.from(timesteps))
    this.stepIndexValue = undefined
    this.beginIndexValue = undefined
    this.updateInitNoiseSigma()
  }

  step(
    modelOutput: Tensor<"float32">,
    timestep: number,
    sample: Tensor<"float32">,
    options: EulerStepOptions = {},
  ): StepOutput {
    checkStepInputs(this.className, modelOutput, sample)
    this.requireTimesteps()
    const sigma = this.currentSigma(timestep)
    const index = this.stepIndexValue!
    const sigmas = this.sigmaTable!
    const sTmin = options.sTmin ?? 0
    const sTmax = options.sTmax ?? Infinity
    const gamma =
      sTmin <= sigma && sigma <= sTmax ? Math.min((options.sChurn ?? 0) / (sigmas.length - 1), 2 ** 0.5 - 1) : 0
    const sigmaHat = f32(sigma * (gamma + 1))
    let x = sample
    if (gamma > 0) {
      const noise = drawNoise(modelOutput.shape, options.generator)
      const sNoise = options.sNoise ?? 1
      const spread = f32(Math.sqrt(f32(f32(sigmaHat * sigmaHat) - f32(sigma * sigma))))
      const before = x.data
      x = elementwise(x.shape, before.length, (i) => before[i]! + f32(noise[i]! * sNoise) * spread)
    }
    const predOriginalSample =
      this.config.prediction_type === "epsilon"
        ? karrasPredictX0(this.className, "epsilon", sigmaHat, modelOutput, x)
        : karrasPredictX0(this.className, this.config.prediction_type, sigma, modelOutput, x)
    const dt = f32(sigmas[index + 1]! - sigmaHat)
    const xs = x.data
    const x0 = predOriginalSample.data
    const prevSample = elementwise(x.shape, xs.length, (i) => xs[i]! + f32(f32(xs[i]! - x0[i]!) / sigmaHat) * dt)
    this.stepIndexValue = index + 1
    return { prevSample, predOriginalSample }
  }
}
