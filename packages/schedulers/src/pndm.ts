// PNDMScheduler (pseudo numerical methods: Runge–Kutta warm-up + linear multistep), ported from diffusers
// `schedulers/scheduling_pndm.py` (`PNDMScheduler`).
import type { Tensor } from "@pagkit/tensor"
import { SchedulerArgumentError, SchedulerStateError } from "./errors.js"
import { addNoiseAtTrainTimesteps, alphasCumprodFor } from "./internal/alphas.js"
import { SchedulerBase, checkInferenceSteps, normalizeSetTimesteps } from "./internal/base.js"
import { checkOneOf, resolveConfig } from "./internal/config.js"
import { checkStepInputs, elementwise } from "./internal/math.js"
import { TIMESTEP_SPACINGS, npArange, npLinspace, roundHalfEven } from "./internal/sigmas.js"
import type { SchedulerConfig, SetTimestepsOptions, StepOptions, StepOutput } from "./scheduler.js"

const f32 = Math.fround

/** PNDMScheduler's options and their diffusers defaults. */
export const pndmDefaults = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "linear",
  trained_betas: null as readonly number[] | null,
  skip_prk_steps: false,
  set_alpha_to_one: false,
  prediction_type: "epsilon",
  timestep_spacing: "leading",
  steps_offset: 0,
}

/** Resolved PNDMScheduler config. */
export type PNDMConfig = typeof pndmDefaults

/**
 * PNDM / PLMS. With `skip_prk_steps` (Stable Diffusion's setting) it is pure PLMS: the second timestep is repeated
 * once to warm the multistep history up.
 *
 * @example
 * const scheduler = new PNDMScheduler({ beta_schedule: "scaled_linear", skip_prk_steps: true, steps_offset: 1 })
 * scheduler.setTimesteps(50) // 51 timesteps
 */
export class PNDMScheduler extends SchedulerBase<PNDMConfig> {
  readonly className = "PNDMScheduler"
  readonly alphasCumprod: Float32Array
  readonly finalAlphaCumprod: number
  private readonly pndmOrder = 4
  private prkTimesteps: number[] = []
  private curModelOutput: Float64Array | undefined = undefined
  private counter = 0
  private curSample: Float32Array | undefined = undefined
  private ets: Float32Array[] = []

  constructor(config: SchedulerConfig = {}) {
    const c = resolveConfig("PNDMScheduler", pndmDefaults, config)
    checkOneOf("PNDMScheduler", "prediction_type", c.prediction_type, ["epsilon", "v_prediction"])
    checkOneOf("PNDMScheduler", "timestep_spacing", c.timestep_spacing, TIMESTEP_SPACINGS)
    super(c)
    this.alphasCumprod = alphasCumprodFor(c, this.className)
    this.finalAlphaCumprod = c.set_alpha_to_one ? 1 : this.alphasCumprod[0]!
  }

  setTimesteps(options: number | SetTimestepsOptions): void {
    const c = this.config
    const n = checkInferenceSteps(
      this.className,
      normalizeSetTimesteps(options).numInferenceSteps,
      c.num_train_timesteps,
    )
    this.numInferenceSteps = n
    const T = c.num_train_timesteps
    let ascending: number[]
    if (c.timestep_spacing === "linspace") {
      ascending = Array.from(npLinspace(0, T - 1, n), (v) => Math.trunc(roundHalfEven(v)))
    } else if (c.timestep_spacing === "leading") {
      ascending = Array.from({ length: n }, (_, i) => i * Math.floor(T / n) + c.steps_offset)
    } else ascending = Array.from(npArange(T, 0, -T / n), (v) => Math.trunc(roundHalfEven(v)) - 1).reverse()
    let plms: number[]
    if (c.skip_prk_steps) {
      this.prkTimesteps = []
      plms = [...ascending.slice(0, -1), ...ascending.slice(-2, -1), ...ascending.slice(-1)].reverse()
    } else {
      // diffusers' PRK table needs the last four timesteps (numpy fails to broadcast below that); with one step the
      // table here would be empty and the loop would not run at all
      if (n < this.pndmOrder) {
        throw new SchedulerArgumentError(
          `${this.className}.setTimesteps: the Runge–Kutta warm-up needs at least ${this.pndmOrder} inference steps, found ${n}. Use ${this.pndmOrder} or more steps, or set skip_prk_steps: true.`,
        )
      }
      const half = Math.floor(Math.floor(T / n) / 2)
      const tail = ascending.slice(-this.pndmOrder)
      const prk = tail.flatMap((t) => [t, t + half])
      const repeated = prk.slice(0, -1).flatMap((t) => [t, t])
      this.prkTimesteps = repeated.slice(1, -1).reverse()
      plms = ascending.slice(0, -3).reverse()
    }
    this.timestepTable = [...this.prkTimesteps, ...plms]
    this.ets = []
    this.counter = 0
    this.curModelOutput = undefined
    this.curSample = undefined
  }

  step(
    modelOutput: Tensor<"float32">,
    timestep: number,
    sample: Tensor<"float32">,
    _options: StepOptions = {},
  ): StepOutput {
    checkStepInputs(this.className, modelOutput, sample)
    this.requireTimesteps()
    if (this.counter < this.prkTimesteps.length && !this.config.skip_prk_steps) {
      return this.stepPrk(modelOutput, timestep, sample)
    }
    return this.stepPlms(modelOutput, timestep, sample)
  }

  /** `step_prk`: the Runge–Kutta warm-up (four model calls per step). */
  private stepPrk(modelOutput: Tensor<"float32">, timestep: number, sample: Tensor<"float32">): StepOutput {
    const ratio = Math.floor(this.config.num_train_timesteps / this.numInferenceSteps!)
    const diffToPrev = this.counter % 2 ? 0 : Math.floor(ratio / 2)
    const prevTimestep = timestep - diffToPrev
    const t = this.prkTimesteps[Math.floor(this.counter / 4) * 4]!
    const m = modelOutput.data
    let output: Float32Array = m
    const phase = this.counter % 4
    if (phase === 0) {
      this.curModelOutput = Float64Array.from(m, (v) => f32(v * f32(1 / 6)))
      this.ets.push(m)
      this.curSample = sample.data
    } else if (phase === 1 || phase === 2) {
      const acc = this.curModelOutput!
      for (let i = 0; i < acc.length; i++) acc[i] = f32(acc[i]! + f32(m[i]! * f32(1 / 3)))
    } else {
      const acc = this.curModelOutput!
      output = Float32Array.from(acc, (v, i) => v + f32(m[i]! * f32(1 / 6)))
      this.curModelOutput = undefined
    }
    const curSample = this.curSample ?? sample.data
    const prevSample = this.prevSample(curSample, sample.shape, { timestep: t, prevTimestep, modelOutput: output })
    this.counter += 1
    return { prevSample }
  }

  /** `step_plms`: linear multistep with up to four past model outputs. */
  private stepPlms(modelOutput: Tensor<"float32">, timestepIn: number, sample: Tensor<"float32">): StepOutput {
    if (!this.config.skip_prk_steps && this.ets.length < 3) {
      throw new SchedulerStateError(
        `${this.className} can only run PLMS steps after the Runge–Kutta warm-up; use the timesteps of setTimesteps in order.`,
      )
    }
    const ratio = Math.floor(this.config.num_train_timesteps / this.numInferenceSteps!)
    let timestep = timestepIn
    let prevTimestep = timestep - ratio
    const m = modelOutput.data
    if (this.counter !== 1) {
      this.ets = this.ets.slice(-3)
      this.ets.push(m)
    } else {
      prevTimestep = timestep
      timestep = timestep + ratio
    }
    const e = this.ets
    const n = e.length
    let x = sample.data
    let output: Float32Array
    if (n === 1 && this.counter === 0) {
      output = m
      this.curSample = x
    } else if (n === 1 && this.counter === 1) {
      output = m.map((v, i) => f32(v + e[0]![i]!) / 2)
      x = this.curSample!
      this.curSample = undefined
    } else if (n === 2) {
      output = m.map((_, i) => f32(f32(3 * e[1]![i]!) - e[0]![i]!) / 2)
    } else if (n === 3) {
      output = m.map((_, i) => f32(f32(f32(23 * e[2]![i]!) - f32(16 * e[1]![i]!)) + f32(5 * e[0]![i]!)) / 12)
    } else {
      output = m.map(
        (_, i) =>
          f32(1 / 24) *
          f32(f32(f32(f32(55 * e[3]![i]!) - f32(59 * e[2]![i]!)) + f32(37 * e[1]![i]!)) - f32(9 * e[0]![i]!)),
      )
    }
    const prevSample = this.prevSample(x, sample.shape, { timestep, prevTimestep, modelOutput: output })
    this.counter += 1
    return { prevSample }
  }

  /** `_get_prev_sample` (formula (9) of the PNDM paper). */
  private prevSample(
    sample: Float32Array,
    shape: readonly number[],
    args: { readonly timestep: number; readonly prevTimestep: number; readonly modelOutput: Float32Array },
  ): Tensor<"float32"> {
    const alphaProdT = this.alphasCumprod[args.timestep]
    if (alphaProdT === undefined) {
      throw new SchedulerArgumentError(
        `${this.className}.step: timestep ${args.timestep} is outside the train schedule.`,
      )
    }
    const alphaProdTPrev = args.prevTimestep >= 0 ? this.alphasCumprod[args.prevTimestep]! : this.finalAlphaCumprod
    const betaProdT = f32(1 - alphaProdT)
    const betaProdTPrev = f32(1 - alphaProdTPrev)
    let m = args.modelOutput
    if (this.config.prediction_type === "v_prediction") {
      const a = f32(Math.sqrt(alphaProdT))
      const b = f32(Math.sqrt(betaProdT))
      m = m.map((v, i) => f32(a * v) + f32(b * sample[i]!))
    }
    const sampleCoeff = f32(Math.sqrt(f32(alphaProdTPrev / alphaProdT)))
    const denom = f32(
      f32(alphaProdT * f32(Math.sqrt(betaProdTPrev))) +
        f32(Math.sqrt(f32(f32(alphaProdT * betaProdT) * alphaProdTPrev))),
    )
    const gap = f32(alphaProdTPrev - alphaProdT)
    return elementwise(shape, sample.length, (i) => f32(sampleCoeff * sample[i]!) - f32(f32(gap * m[i]!) / denom))
  }

  addNoise(original: Tensor<"float32">, noise: Tensor<"float32">, timesteps: readonly number[]): Tensor<"float32"> {
    return addNoiseAtTrainTimesteps(this.className, this.alphasCumprod, { original, noise, timesteps })
  }
}
