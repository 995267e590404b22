import type { GuidanceChain, PlannedPass, StepContext } from "@pagkit/guidance"
import type { Scheduler } from "@pagkit/schedulers"
import type { Tensor, TorchGenerator } from "@pagkit/tensor"
import { AbortedError } from "./errors.js"

/** What the per-step callback sees (diffusers' `callback_on_step_end`, after `scheduler.step`). */
export interface StepEvent {
  /** 0-based step index within this run. */
  readonly step: number
  /** Steps in this run. */
  readonly numSteps: number
  /** The scheduler timestep of the step. */
  readonly timestep: number
  /** Latents after the step, `[batch, channels, h, w]`. */
  readonly latents: Tensor<"float32">
}

/** Options of {@link runDenoisingLoop}. */
export interface DenoisingLoopOptions {
  /** The scheduler, with `setTimesteps` already called. */
  readonly scheduler: Scheduler
  /** The guidance chain that plans each step's rows and combines their predictions. */
  readonly chain: GuidanceChain
  /** Timesteps to run, in order (a suffix of `scheduler.timesteps` for img2img). */
  readonly timesteps: readonly number[]
  /** Starting latents `[batch, channels, h, w]`. */
  readonly latents: Tensor<"float32">
  /** Shared with the latents' draws: stochastic schedulers continue its stream, as in diffusers. */
  readonly generator: TorchGenerator
  /** DDIM's η (diffusers' `eta`, passed to schedulers whose `step` takes it; others ignore it). */
  readonly eta?: number
  /** `"batched"`: one model call per step (diffusers' layout); `"separate"`: one per branch, lower peak memory. */
  readonly passes?: "batched" | "separate"
  /** Runs one planned pass; `modelInput` is `scheduler.scaleModelInput(latents, t)` for the chunk's samples. */
  readonly denoise: (pass: PlannedPass, modelInput: Tensor<"float32">, ctx: StepContext) => Promise<Tensor<"float32">>
  /** Maps the guided prediction to what the scheduler takes (e.g. drop learned-sigma channels). */
  readonly toSchedulerOutput?: (guided: Tensor<"float32">) => Tensor<"float32">
  /** Runs after each scheduler step (e.g. inpainting's blend with the noised image latents). */
  readonly afterStep?: (latents: Tensor<"float32">, ctx: StepContext) => Tensor<"float32">
  /** Called after every step with the step index, count, timestep and latents; awaited when it returns a promise. */
  readonly onStep?: (event: StepEvent) => void | Promise<void>
  /** Stops the run between steps with an {@link AbortedError}. */
  readonly signal?: AbortSignal
}

/**
 * The step loop, which knows nothing about CFG or PAG (DESIGN §2): plan rows with the guidance chain, run the
 * denoiser, fold the predictions, step the scheduler.
 */
export async function runDenoisingLoop(options: DenoisingLoopOptions): Promise<Tensor<"float32">> {
  const { scheduler, chain, timesteps } = options
  const batchSize = options.latents.shape[0]!
  let latents = options.latents
  for (const [stepIndex, timestep] of timesteps.entries()) {
    if (options.signal?.aborted === true) throw new AbortedError(stepIndex, timesteps.length)
    const ctx: StepContext = { stepIndex, numSteps: timesteps.length, timestep }
    const modelInput = scheduler.scaleModelInput(latents, timestep)
    const guided = (await chain.step(ctx, {
      batchSize,
      ...(options.passes === undefined ? {} : { passes: options.passes }),
      denoise: (pass) => options.denoise(pass, modelInput, ctx),
    })) as Tensor<"float32">
    const modelOutput = options.toSchedulerOutput?.(guided) ?? guided
    const stepOptions = { generator: options.generator, ...(options.eta === undefined ? {} : { eta: options.eta }) }
    latents = scheduler.step(modelOutput, timestep, latents, stepOptions).prevSample
    if (options.afterStep !== undefined) latents = options.afterStep(latents, ctx)
    await options.onStep?.({ step: stepIndex, numSteps: timesteps.length, timestep, latents })
  }
  return latents
}
