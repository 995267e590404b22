// FlowMatchEulerDiscreteScheduler, ported from diffusers `schedulers/scheduling_flow_match_euler_discrete.py`.
import type { Tensor } from "@pagkit/tensor"
import { SchedulerArgumentError } from "./errors.js"
import { SchedulerBase } from "./internal/base.js"
import { mixPerRow } from "./internal/broadcast.js"
import { checkOneOf, checkSingleSigmaConversion, resolveConfig } from "./internal/config.js"
import { checkStepInputs, drawNoise, elementwise } from "./internal/math.js"
import { convertSigmas, npLinspace, sigmaConversionOf } from "./internal/sigmas.js"
import type { SchedulerConfig, SetTimestepsOptions, StepOptions, StepOutput } from "./scheduler.js"

const f32 = Math.fround

/** FlowMatchEulerDiscreteScheduler's options and their diffusers defaults. */
export const flowMatchEulerDiscreteDefaults = {
  num_train_timesteps: 1000,
  shift: 1.0,
  use_dynamic_shifting: false,
  base_shift: 0.5 as number | null,
  max_shift: 1.15 as number | null,
  base_image_seq_len: 256,
  max_image_seq_len: 4096,
  invert_sigmas: false,
  shift_terminal: null as number | null,
  use_karras_sigmas: false as boolean | null,
  use_exponential_sigmas: false as boolean | null,
  use_beta_sigmas: false as boolean | null,
  time_shift_type: "exponential",
  stochastic_sampling: false,
}

/** Resolved FlowMatchEulerDiscreteScheduler config. */
export type FlowMatchEulerDiscreteConfig = typeof flowMatchEulerDiscreteDefaults

/**
 * The `mu` of dynamic shifting for an image of `imageSeqLen` latent tokens: linear between
 * (`base_image_seq_len`, `base_shift`) and (`max_image_seq_len`, `max_shift`), as diffusers' `calculate_shift`.
 */
export function calculateShift(imageSeqLen: number, config: Partial<FlowMatchEulerDiscreteConfig> = {}): number {
  const baseSeqLen = config.base_image_seq_len ?? 256
  const maxSeqLen = config.max_image_seq_len ?? 4096
  const baseShift = config.base_shift ?? 0.5
  const maxShift = config.max_shift ?? 1.15
  const m = (maxShift - baseShift) / (maxSeqLen - baseSeqLen)
  return imageSeqLen * m + (baseShift - m * baseSeqLen)
}

/**
 * Euler steps of a rectified-flow model (SD3, Flux, …): `x ← x + (σ_next − σ)·v`. Shifted sigmas (`shift`) or
 * resolution-dependent shifting (`use_dynamic_shifting` with `mu`).
 *
 * @example
 * const scheduler = new FlowMatchEulerDiscreteScheduler({ shift: 3 })
 * scheduler.setTimesteps(28)
 * const noisy = scheduler.scaleNoise(latents, [scheduler.timesteps[0]!], noise)
 */
export class FlowMatchEulerDiscreteScheduler extends SchedulerBase<FlowMatchEulerDiscreteConfig> {
  readonly className = "FlowMatchEulerDiscreteScheduler"
  /** `shift`, changeable with {@link setShift}. */
  shift: number
  readonly sigmaMin: number
  readonly sigmaMax: number

  constructor(config: SchedulerConfig = {}) {
    const c = resolveConfig("FlowMatchEulerDiscreteScheduler", flowMatchEulerDiscreteDefaults, config)
    checkSingleSigmaConversion("FlowMatchEulerDiscreteScheduler", c)
    checkOneOf("FlowMatchEulerDiscreteScheduler", "time_shift_type", c.time_shift_type, ["exponential", "linear"])
    super(c)
    this.shift = c.shift
    const T = c.num_train_timesteps
    const trainSigmas = Array.from(Float32Array.from(npLinspace(1, T, T)).reverse(), (t) => {
      const sigma = f32(t / T)
      return c.use_dynamic_shifting ? sigma : f32(f32(c.shift * sigma) / f32(1 + f32((c.shift - 1) * sigma)))
    })
    this.sigmaTable = trainSigmas
    this.timestepTable = trainSigmas.map((s) => f32(s * T))
    this.sigmaMin = trainSigmas[trainSigmas.length - 1]!
    this.sigmaMax = trainSigmas[0]!
  }

  /** `set_shift`. */
  setShift(shift: number): void {
    this.shift = shift
  }

  /** `time_shift(mu, sigma, t)`: exponential `e^μ / (e^μ + (1/t − 1)^σ)` or linear `μ / (μ + (1/t − 1)^σ)`. */
  timeShift(mu: number, sigma: number, t: number): number {
    const a = this.config.time_shift_type === "exponential" ? Math.exp(mu) : mu
    return a / (a + (1 / t - 1) ** sigma)
  }

  setTimesteps(options: number | SetTimestepsOptions): void {
    const c = this.config
    const opts = typeof options === "number" ? { numInferenceSteps: options } : options
    if (c.use_dynamic_shifting && opts.mu === undefined) {
      throw new SchedulerArgumentError(
        `${this.className}.setTimesteps: use_dynamic_shifting is on, so mu is required. Pass { mu: calculateShift(imageSeqLen, config) }.`,
      )
    }
    if (opts.sigmas !== undefined && opts.timesteps !== undefined && opts.sigmas.length !== opts.timesteps.length) {
      throw new SchedulerArgumentError(
        `${this.className}.setTimesteps: sigmas and timesteps should have the same length, found ${opts.sigmas.length} and ${opts.timesteps.length}.`,
      )
    }
    let n = opts.numInferenceSteps
    if (n !== undefined) {
      if (!Number.isInteger(n) || n < 1) {
        throw new SchedulerArgumentError(
          `${this.className}.setTimesteps: numInferenceSteps should be a whole number >= 1, found ${n}.`,
        )
      }
      const given = opts.sigmas?.length ?? opts.timesteps?.length
      if (given !== undefined && given !== n) {
        throw new SchedulerArgumentError(
          `${this.className}.setTimesteps: numInferenceSteps (${n}) should match the number of sigmas / timesteps (${given}).`,
        )
      }
    } else {
      n = opts.sigmas?.length ?? opts.timesteps?.length
      if (n === undefined || n < 1) {
        throw new SchedulerArgumentError(`${this.className}.setTimesteps: pass numInferenceSteps, sigmas or timesteps.`)
      }
    }
    this.numInferenceSteps = n
    const T = c.num_train_timesteps
    // numpy float64 for the default schedule; float32 when sigmas or timesteps come in (NEP 50 keeps float32)
    const inF32 = opts.sigmas !== undefined || opts.timesteps !== undefined
    const r = inF32 ? f32 : (v: number): number => v
    let sigmas: number[]
    if (opts.sigmas !== undefined) sigmas = Array.from(Float32Array.from(opts.sigmas))
    else if (opts.timesteps !== undefined) sigmas = Array.from(Float32Array.from(opts.timesteps), (t) => f32(t / T))
    else sigmas = Array.from(npLinspace(this.sigmaMax * T, this.sigmaMin * T, n), (t) => t / T)
    if (c.use_dynamic_shifting) sigmas = sigmas.map((s) => r(this.timeShift(opts.mu!, 1, s)))
    else sigmas = sigmas.map((s) => r(r(this.shift * s) / r(1 + r((this.shift - 1) * s))))
    if (c.shift_terminal) {
      const scale = r((1 - sigmas[sigmas.length - 1]!) / (1 - c.shift_terminal))
      sigmas = sigmas.map((s) => r(1 - r(r(1 - s) / scale)))
    }
    const conversion = sigmaConversionOf(c)
    if (conversion !== undefined) sigmas = Array.from(convertSigmas(conversion, sigmas, { numSteps: n }))
    let table = Array.from(Float32Array.from(sigmas))
    if (c.invert_sigmas) table = table.map((s) => f32(1 - s))
    this.timestepTable = table.map((s) => f32(s * T))
    this.sigmaTable = [...table, c.invert_sigmas ? 1 : 0]
    this.stepIndexValue = undefined
    this.beginIndexValue = undefined
  }

  /**
   * `scale_noise`: the flow-matching forward process `σ·noise + (1 − σ)·sample` at `timesteps` (one per batch row,
   * or one for all), used by img2img to noise the encoded image.
   */
  scaleNoise(sample: Tensor<"float32">, timesteps: readonly number[], noise: Tensor<"float32">): Tensor<"float32"> {
    const sigmas = this.addNoiseIndices(timesteps).map((i) => this.sigmaTable![i]!)
    return mixPerRow(noise, sample, {
      original: sigmas,
      noise: sigmas.map((s) => f32(1 - s)),
      what: `${this.className}.scaleNoise`,
    })
  }

  /** Same as {@link scaleNoise} (flow matching has no separate `add_noise`); argument order of `Scheduler.addNoise`. */
  addNoise(original: Tensor<"float32">, noise: Tensor<"float32">, timesteps: readonly number[]): Tensor<"float32"> {
    return this.scaleNoise(original, timesteps, noise)
  }

  step(
    modelOutput: Tensor<"float32">,
    timestep: number,
    sample: Tensor<"float32">,
    options: StepOptions = {},
  ): StepOutput {
    checkStepInputs(this.className, modelOutput, sample)
    this.requireTimesteps()
    const index = this.initStepIndex(timestep)
    const sigma = this.sigmaTable![index]!
    const sigmaNext = this.sigmaTable![index + 1]!
    const x = sample.data
    const v = modelOutput.data
    let prevSample: Tensor<"float32">
    if (this.config.stochastic_sampling) {
      const noise = drawNoise(sample.shape, options.generator)
      const keep = f32(1 - sigmaNext)
      prevSample = elementwise(
        sample.shape,
        x.length,
        (i) => f32(keep * f32(x[i]! - f32(sigma * v[i]!))) + f32(sigmaNext * noise[i]!),
      )
    } else {
      const dt = f32(sigmaNext - sigma)
      prevSample = elementwise(sample.shape, x.length, (i) => x[i]! + f32(dt * v[i]!))
    }
    this.stepIndexValue = index + 1
    return { prevSample }
  }
}
