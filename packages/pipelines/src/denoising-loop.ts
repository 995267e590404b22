import type { GuidanceChain, PlannedPass, StepContext } from "@pagkit/guidance"
import type { Scheduler } from "@pagkit/schedulers"
import { countNonFinite, describeNonFinite } from "@pagkit/tensor"
import type { Tensor, TorchGenerator } from "@pagkit/tensor"
import { AbortedError, InvalidOptionError, NonFiniteError } from "./errors.js"

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
  /** Stops the run between steps with an {@link AbortedError} (also when it lands during the last step). */
  readonly signal?: AbortSignal
  /**
   * Let NaN and ±Infinity through. By default the latents are checked after every step (one cheap pass) and a
   * {@link NonFiniteError} names the step and the likely cause, instead of decoding a black image.
   */
  readonly allowNonFinite?: boolean
}

/**
 * Throws a {@link NonFiniteError} naming the step and where the values went bad. Costs one pass over the latents
 * per step; the model input and output are scanned only once the latents are found non-finite.
 */
function checkStep(parts: { step: number; numSteps: number; timestep: number; input: Tensor; modelOutput: Tensor; latents: Tensor }): void {
  const { step, numSteps, timestep } = parts
  const latents = countNonFinite(parts.latents)
  if (latents === undefined) return // the common case: one pass over the latents
  // Something went bad this step: find where, for the message.
  const where = `step ${step + 1} of ${numSteps} (timestep ${timestep})`
  const input = countNonFinite(parts.input)
  if (input !== undefined) {
    throw new NonFiniteError(
      `expected finite latents going into ${where}, found ${describeNonFinite(input)}. ${step === 0 ? "The starting latents were already non-finite: check the scheduler config (beta_start, beta_end, num_train_timesteps give init_noise_sigma) and any image/latents passed in." : "They went bad in a step the check did not cover (afterStep)."}`,
      step,
    )
  }
  const output = countNonFinite(parts.modelOutput)
  if (output !== undefined) {
    throw new NonFiniteError(
      `expected a finite model prediction at ${where}, found ${describeNonFinite(output)}. Likely causes: guidance scales too large (scales near 1e38 overflow float32), NaN or Infinity in the model's or an adapter's weights (IP-Adapter, ControlNet), or non-finite conditioning (prompt embeddings). Pass allowNonFinite: true to keep going anyway.`,
      step,
    )
  }
  throw new NonFiniteError(
    `expected finite latents after the scheduler step at ${where}, found ${describeNonFinite(latents)} (the model prediction was finite). Likely causes: a scheduler config out of range (betas outside (0, 1), beta_start ≥ beta_end, a sigma of 0), a non-finite eta, or huge guidance scales. Pass allowNonFinite: true to keep going anyway.`,
    step,
  )
}

/**
 * The step loop, which knows nothing about CFG or PAG (DESIGN §2): plan rows with the guidance chain, run the
 * denoiser, fold the predictions, step the scheduler.
 */
export async function runDenoisingLoop(options: DenoisingLoopOptions): Promise<Tensor<"float32">> {
  const { scheduler, chain, timesteps } = options
  if (options.eta !== undefined && !(Number.isFinite(options.eta) && options.eta >= 0)) {
    throw new InvalidOptionError(`eta must be a finite number ≥ 0 (DDIM's η: 0 is deterministic, 1 is DDPM-like), found ${String(options.eta)}.`)
  }
  const checkFinite = options.allowNonFinite !== true
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
    if (checkFinite) checkStep({ step: stepIndex, numSteps: timesteps.length, timestep, input: modelInput, modelOutput, latents })
    await options.onStep?.({ step: stepIndex, numSteps: timesteps.length, timestep, latents })
  }
  // An abort that landed during the last step (or its onStep) stops the run here, before decoding.
  if (options.signal?.aborted === true) throw new AbortedError(timesteps.length, timesteps.length)
  return latents
}
