// Shared behaviour of the sigma-parameterised discrete schedulers (Euler, Euler ancestral, LMS, Heun, KDPM2):
// `scale_model_input` = x / √(σ² + 1), `add_noise` = x0 + σ·noise, `init_noise_sigma` from the spacing.
import type { Tensor } from "@pagkit/tensor"
import { SchedulerArgumentError } from "../errors.js"
import type { SchedulerConfig, SetTimestepsOptions } from "../scheduler.js"
import { SchedulerBase, checkInferenceSteps } from "./base.js"
import { mixPerRow } from "./broadcast.js"
import { eulerSpacedTimesteps } from "./karras-tables.js"
import { elementwise } from "./math.js"

const f32 = Math.fround

/** Base of the Karras-style schedulers: the subclass fills `sigmaTable` / `timestepTable` in `setTimesteps`. */
export abstract class KarrasSchedulerBase<
  C extends SchedulerConfig & {
    readonly timestep_spacing: string
    readonly num_train_timesteps: number
    readonly steps_offset: number
  },
> extends SchedulerBase<C> {
  /** `alphas_cumprod` (float32). */
  abstract readonly alphasCumprod: Float32Array

  /** `init_noise_sigma`: max σ for linspace / trailing spacing, else √(max σ² + 1) (float32). */
  protected updateInitNoiseSigma(): void {
    let max = -Infinity
    for (const s of this.sigmaTable ?? []) if (s > max) max = s
    this.initNoiseSigma = ["linspace", "trailing"].includes(this.config.timestep_spacing)
      ? max
      : f32(Math.sqrt(f32(f32(max * max) + 1)))
  }

  /**
   * The step count and train timesteps a `setTimesteps` call asks for (and sets `numInferenceSteps`): custom
   * `timesteps` as given, else `numInferenceSteps` spaced by `timestep_spacing` (diffusers' Euler / Heun).
   */
  protected requestedTimesteps(opts: SetTimestepsOptions): { readonly n: number; readonly spaced: Float32Array } {
    const c = this.config
    const n = opts.timesteps?.length ?? checkInferenceSteps(this.className, opts.numInferenceSteps, c.num_train_timesteps)
    this.numInferenceSteps = n
    const spaced =
      opts.timesteps !== undefined
        ? Float32Array.from(opts.timesteps)
        : eulerSpacedTimesteps(c.timestep_spacing, c.num_train_timesteps, n, c.steps_offset)
    return { n, spaced }
  }

  /** σ at the current step (initialising the step index from `timestep`). */
  protected currentSigma(timestep: number): number {
    const index = this.initStepIndex(timestep)
    const sigma = this.sigmaTable?.[index]
    if (sigma === undefined) {
      throw new SchedulerArgumentError(
        `${this.className}: step index ${index} is past the end of the schedule (${this.timestepTable.length} timesteps). Call setTimesteps again before a new run.`,
      )
    }
    return sigma
  }

  override scaleModelInput(sample: Tensor<"float32">, timestep: number): Tensor<"float32"> {
    const sigma = this.currentSigma(timestep)
    const scale = f32(Math.sqrt(f32(f32(sigma * sigma) + 1)))
    return elementwise(sample.shape, sample.data.length, (i) => sample.data[i]! / scale)
  }

  addNoise(original: Tensor<"float32">, noise: Tensor<"float32">, timesteps: readonly number[]): Tensor<"float32"> {
    const sigmas = this.addNoiseIndices(timesteps).map((i) => this.sigmaTable?.[i] ?? 0)
    return mixPerRow(original, noise, {
      original: sigmas.map(() => 1),
      noise: sigmas,
      what: `${this.className}.addNoise`,
    })
  }
}

/** x0 from a model output at σ (Euler family): epsilon, v_prediction, or sample. */
export function karrasPredictX0(
  className: string,
  predictionType: string,
  sigma: number,
  modelOutput: Tensor<"float32">,
  sample: Tensor<"float32">,
): Tensor<"float32"> {
  const size = sample.data.length
  const m = modelOutput.data
  const x = sample.data
  if (predictionType === "epsilon") return elementwise(sample.shape, size, (i) => f32(x[i]! - f32(sigma * m[i]!)))
  if (predictionType === "v_prediction") {
    const cOut = f32(-sigma / f32(Math.sqrt(f32(f32(sigma * sigma) + 1))))
    const cSkip = f32(f32(sigma * sigma) + 1)
    return elementwise(sample.shape, size, (i) => f32(m[i]! * cOut) + f32(x[i]! / cSkip))
  }
  if (predictionType === "sample" || predictionType === "original_sample") return modelOutput
  throw new SchedulerArgumentError(
    `${className}: prediction_type "${predictionType}" must be one of "epsilon", "v_prediction" or "sample".`,
  )
}
