import { PixArtSigmaPipeline } from "@pagkit/pipelines"
import type { PipelineOutput } from "@pagkit/pipelines"
import { CliError } from "./args.js"
import type { CliOptions } from "./args.js"
import type { ProgressReporter } from "./progress.js"

/**
 * `pagkit generate` on a PixArt-Sigma folder. It runs in this thread (the worker serves SDXL tasks), so the bar
 * redraws once per step; Ctrl-C still stops between steps.
 */
export async function runPixArt(
  options: CliOptions,
  run: { readonly model: string; readonly steps: number; readonly signal: AbortSignal; readonly progress: ProgressReporter },
): Promise<PipelineOutput & { className: string }> {
  if (options.command !== "generate") {
    throw new CliError(`PixArt-Sigma folders support "generate" only; ${options.command} needs an SDXL folder.`)
  }
  if (options.scheduler !== undefined) throw new CliError(`--scheduler is not available for PixArt-Sigma folders yet.`)
  const pipe = await PixArtSigmaPipeline.fromPretrained(run.model, options.pagLayers === undefined ? {} : { pagAppliedLayers: options.pagLayers })
  const output = await pipe.run({
    prompt: options.prompt,
    numInferenceSteps: run.steps,
    seed: options.seed,
    numImagesPerPrompt: options.numImages,
    pagScale: options.pagScale,
    signal: run.signal,
    ...(options.negativePrompt === undefined ? {} : { negativePrompt: options.negativePrompt }),
    ...(options.guidanceScale === undefined ? {} : { guidanceScale: options.guidanceScale }),
    ...(options.pagAdaptiveScale === undefined ? {} : { pagAdaptiveScale: options.pagAdaptiveScale }),
    ...(options.width === undefined ? {} : { width: options.width }),
    ...(options.height === undefined ? {} : { height: options.height }),
    onStep: (e: { step: number; numSteps: number; timestep: number }) => run.progress.step(e.step + 1, e.numSteps, e.timestep),
  })
  await pipe.release()
  return Object.assign(output, { className: "PixArtSigmaPAGPipeline" })
}
