import type { Tensor, TorchGenerator } from "@pagkit/tensor"

/** A `scheduler_config.json` as parsed JSON: `_class_name` plus options. Unknown keys are ignored. */
export type SchedulerConfig = Readonly<Record<string, unknown>>

/** Options of {@link Scheduler.setTimesteps}: a step count, or explicit timesteps / sigmas. */
export interface SetTimestepsOptions {
  /** Number of denoising steps; the scheduler spaces its timesteps by its `timestep_spacing`. */
  readonly numInferenceSteps?: number
  /** Explicit timesteps (descending) instead of `numInferenceSteps`, for schedulers that accept them. */
  readonly timesteps?: readonly number[]
  /** Explicit sigmas (descending) instead of `numInferenceSteps`, for schedulers that accept them. */
  readonly sigmas?: readonly number[]
  /** Flow matching with dynamic shifting. */
  readonly mu?: number
}

/** Options of {@link Scheduler.step}. */
export interface StepOptions {
  /** Generator for stochastic steps (the `generator` argument of diffusers' `step`). */
  readonly generator?: TorchGenerator
}

/** What one step returns. */
export interface StepOutput {
  /** `prev_sample`: the latents after this step. */
  readonly prevSample: Tensor<"float32">
  /** `pred_original_sample` (x0 estimate) where the scheduler computes it. */
  readonly predOriginalSample?: Tensor<"float32">
}

/**
 * A diffusers-compatible scheduler. Method names mirror diffusers in camelCase; timesteps are plain numbers
 * (diffusers' tensors of one value).
 */
export interface Scheduler {
  /** diffusers class name, e.g. `EulerDiscreteScheduler`. */
  readonly className: string
  /** The resolved config: every option with its value (defaults filled in). */
  readonly config: SchedulerConfig
  /** `order`: model evaluations per step (2 for Heun / KDPM2). */
  readonly order: number
  /** `init_noise_sigma`. */
  readonly initNoiseSigma: number
  /** `timesteps` after {@link setTimesteps}: what the model is called with, in order. */
  readonly timesteps: readonly number[]
  /** `sigmas` where the scheduler has them. */
  readonly sigmas: readonly number[] | undefined
  /** `set_timesteps`: prepares `timesteps` / `sigmas` for a run (resets the step index and begin index). */
  setTimesteps(options: number | SetTimestepsOptions): void
  /** `scale_model_input`: what the model is fed at `timestep` (x / √(σ² + 1) for σ-schedulers, x otherwise). */
  scaleModelInput(sample: Tensor<"float32">, timestep: number): Tensor<"float32">
  /** `step`: one update from the model output at `timestep`; stochastic classes draw from `options.generator`. */
  step(modelOutput: Tensor<"float32">, timestep: number, sample: Tensor<"float32">, options?: StepOptions): StepOutput
  /**
   * `add_noise`: the forward process at `timesteps` (one per batch row, or one for all rows), indexed the way the
   * class does in diffusers (by timestep value, or by begin / step index once set).
   */
  addNoise(originalSamples: Tensor<"float32">, noise: Tensor<"float32">, timesteps: readonly number[]): Tensor<"float32">
  /** `set_begin_index`, for img2img-style starts. No-op on schedulers that index by timestep value. */
  setBeginIndex(beginIndex: number): void
}

/** Builds a scheduler from a config (`_class_name` already resolved to this factory). */
export type SchedulerFactory = (config: SchedulerConfig) => Scheduler
