// What LCMScheduler and TCDScheduler share: DDPM-style betas, the skipping timestep schedule drawn from the
// `original_inference_steps` grid, and step-index bookkeeping. Ported from diffusers `scheduling_lcm.py` and
// `scheduling_tcd.py` (`set_timesteps`).
import type { Tensor } from "@pagkit/tensor"
import { SchedulerArgumentError } from "../errors.js"
import type { SetTimestepsOptions } from "../scheduler.js"
import { addNoiseAtTrainTimesteps, alphaProdAt, alphasCumprodFor } from "./alphas.js"
import { SchedulerBase, checkInferenceSteps, normalizeSetTimesteps } from "./base.js"
import { npLinspace } from "./sigmas.js"

/** Options shared by LCMScheduler and TCDScheduler, with LCM's diffusers defaults. */
export const consistencyDefaults = {
  num_train_timesteps: 1000,
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: "scaled_linear",
  trained_betas: null as readonly number[] | null,
  original_inference_steps: 50,
  clip_sample: false,
  clip_sample_range: 1.0,
  set_alpha_to_one: true,
  steps_offset: 0,
  prediction_type: "epsilon",
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  sample_max_value: 1.0,
  timestep_spacing: "leading",
  timestep_scaling: 10.0,
  rescale_betas_zero_snr: false,
}

/** Resolved LCM / TCD config. */
export type ConsistencyConfig = typeof consistencyDefaults

/** `setTimesteps` options of LCM / TCD: the training grid and an img2img strength. */
export interface ConsistencySetTimestepsOptions extends SetTimestepsOptions {
  /** Overrides `original_inference_steps` (TCD: any value switches to the full train grid, as diffusers does). */
  readonly originalInferenceSteps?: number
  /** img2img strength in (0, 1]: shortens the grid the timesteps are drawn from. Default 1. */
  readonly strength?: number
}

/** Base of LCMScheduler / TCDScheduler. */
export abstract class ConsistencySchedulerBase extends SchedulerBase<ConsistencyConfig> {
  readonly alphasCumprod: Float32Array
  readonly finalAlphaCumprod: number
  protected customTimesteps = false
  /** TCD draws from the whole train grid when `originalInferenceSteps` is passed. */
  protected abstract readonly fullGridWhenOverridden: boolean

  constructor(className: string, config: ConsistencyConfig) {
    super(config)
    this.alphasCumprod = alphasCumprodFor(config, className)
    this.finalAlphaCumprod = config.set_alpha_to_one ? 1 : this.alphasCumprod[0]!
    this.timestepTable = Array.from(
      { length: config.num_train_timesteps },
      (_, i) => config.num_train_timesteps - 1 - i,
    )
  }

  setTimesteps(options: number | ConsistencySetTimestepsOptions): void {
    const c = this.config
    const opts: ConsistencySetTimestepsOptions = normalizeSetTimesteps(options)
    const strength = opts.strength ?? 1
    if (!(strength > 0 && strength <= 1)) {
      throw new SchedulerArgumentError(
        `${this.className}.setTimesteps: strength should be in (0, 1], found ${strength}.`,
      )
    }
    const fullGrid = this.fullGridWhenOverridden && opts.originalInferenceSteps !== undefined
    const originalSteps = opts.originalInferenceSteps ?? c.original_inference_steps
    if (!fullGrid && (!Number.isInteger(originalSteps) || originalSteps < 1 || originalSteps > c.num_train_timesteps)) {
      throw new SchedulerArgumentError(
        `${this.className}.setTimesteps: original_inference_steps should be a whole number from 1 to num_train_timesteps (${c.num_train_timesteps}), found ${originalSteps}.`,
      )
    }
    const k = Math.floor(c.num_train_timesteps / originalSteps)
    const grid = fullGrid
      ? Array.from({ length: Math.trunc(c.num_train_timesteps * strength) }, (_, i) => i)
      : Array.from({ length: Math.trunc(originalSteps * strength) }, (_, i) => (i + 1) * k - 1)
    if (opts.timesteps !== undefined) {
      this.setCustomTimesteps(opts.timesteps, grid, strength)
    } else {
      const n = checkInferenceSteps(this.className, opts.numInferenceSteps, c.num_train_timesteps)
      // diffusers caps the step count at original_steps even when TCD draws from the full train grid
      const limit = originalSteps
      if (Math.floor(grid.length / n) < 1 || n > limit) {
        throw new SchedulerArgumentError(
          `${this.className}.setTimesteps: ${n} steps cannot be drawn from a grid of ${grid.length} timesteps (original_inference_steps ${originalSteps} × strength ${strength}). Use at most ${Math.min(grid.length, limit)} steps or raise strength.`,
        )
      }
      this.numInferenceSteps = n
      this.customTimesteps = false
      const descending = [...grid].reverse()
      this.timestepTable = Array.from(
        npLinspace(0, descending.length, n + 1).subarray(0, n),
        (v) => descending[Math.floor(v)]!,
      )
    }
    this.stepIndexValue = undefined
    this.beginIndexValue = undefined
  }

  private setCustomTimesteps(timesteps: readonly number[], grid: readonly number[], strength: number): void {
    const c = this.config
    for (let i = 1; i < timesteps.length; i++) {
      if (timesteps[i]! >= timesteps[i - 1]!) {
        throw new SchedulerArgumentError(
          `${this.className}.setTimesteps: custom timesteps must be in descending order, found ${timesteps[i - 1]} then ${timesteps[i]}.`,
        )
      }
    }
    if ((timesteps[0] ?? 0) >= c.num_train_timesteps) {
      throw new SchedulerArgumentError(
        `${this.className}.setTimesteps: timesteps must start below num_train_timesteps (${c.num_train_timesteps}), found ${timesteps[0]}.`,
      )
    }
    void grid // diffusers only warns about timesteps outside the training grid
    this.numInferenceSteps = timesteps.length
    this.customTimesteps = true
    const initTimestep = Math.min(Math.trunc(timesteps.length * strength), timesteps.length)
    const tStart = Math.max(timesteps.length - initTimestep, 0)
    this.timestepTable = timesteps.slice(tStart * this.order).map((t) => Math.trunc(t))
  }

  /** `alphas_cumprod[t]` with a clear error outside the table. */
  protected alphaAt(t: number): number {
    return alphaProdAt(this.alphasCumprod, t, this.className)
  }

  addNoise(original: Tensor<"float32">, noise: Tensor<"float32">, timesteps: readonly number[]): Tensor<"float32"> {
    return addNoiseAtTrainTimesteps(this.className, this.alphasCumprod, { original, noise, timesteps })
  }
}
