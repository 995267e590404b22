import path from "node:path"
import { existsSync } from "node:fs"
import { AutoPipelineForImage2Image, AutoPipelineForInpainting, AutoPipelineForText2Image } from "@pagkit/pipelines"
import type { PipelineOutput, SdxlCallOptions } from "@pagkit/pipelines"
import { tinyModelPath } from "@pagkit/tiny-models"
import { CliError } from "./args.js"
import type { CliOptions } from "./args.js"
import { createProgress } from "./progress.js"

/** Steps when the user gives none: the tiny embedded model is fast enough for more, real SDXL gets diffusers' 50. */
const TINY_DEFAULT_STEPS = 30

/** Resolves a user path against the directory the command was typed in (pnpm scripts run from the root). */
export function userPath(file: string): string {
  return path.resolve(process.env["INIT_CWD"] ?? process.cwd(), file)
}

async function loadPipeline(options: CliOptions, model: string) {
  const load = {
    enablePag: options.pagScale > 0,
    pagAppliedLayers: options.pagLayers,
    ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
  }
  if (options.command === "img2img") return AutoPipelineForImage2Image.fromPretrained(model, load)
  if (options.command === "inpaint") return AutoPipelineForInpainting.fromPretrained(model, load)
  return AutoPipelineForText2Image.fromPretrained(model, load)
}

/** Runs one command end to end and returns the files written. */
export async function runCommand(options: CliOptions, signal: AbortSignal): Promise<string[]> {
  const model = options.model === undefined ? tinyModelPath("tiny-sdxl-shapes") : userPath(options.model)
  if (!existsSync(model)) {
    throw new CliError(`model folder not found: ${model}. Pass --model <dir> with a diffusers ONNX export (model_index.json, unet/, vae_decoder/, …).`)
  }
  for (const [flag, file] of [["--image", options.image], ["--mask", options.mask]] as const) {
    if (file !== undefined && !existsSync(userPath(file))) throw new CliError(`${flag}: file not found: ${userPath(file)}.`)
  }
  const pipe = await loadPipeline(options, model)
  const steps = options.steps ?? (options.model === undefined ? TINY_DEFAULT_STEPS : 50)
  const progress = createProgress(process.stderr, options.command)
  const call: SdxlCallOptions & Record<string, unknown> = {
    prompt: options.prompt,
    numInferenceSteps: steps,
    seed: options.seed,
    numImagesPerPrompt: options.numImages,
    signal,
    ...(options.negativePrompt === undefined ? {} : { negativePrompt: options.negativePrompt }),
    ...(options.guidanceScale === undefined ? {} : { guidanceScale: options.guidanceScale }),
    ...(options.guidanceRescale === undefined ? {} : { guidanceRescale: options.guidanceRescale }),
    ...(options.pagScale > 0 ? { pagScale: options.pagScale } : {}),
    ...(options.pagAdaptiveScale === undefined ? {} : { pagAdaptiveScale: options.pagAdaptiveScale }),
    ...(options.width === undefined ? {} : { width: options.width }),
    ...(options.height === undefined ? {} : { height: options.height }),
    ...(options.image === undefined ? {} : { image: userPath(options.image) }),
    ...(options.mask === undefined ? {} : { maskImage: userPath(options.mask) }),
    ...(options.strength === undefined ? {} : { strength: options.strength }),
    ...(options.quiet ? {} : { onStep: (e: { step: number; numSteps: number; timestep: number }) => progress.step(e.step + 1, e.numSteps, e.timestep) }),
  }
  const started = Date.now()
  const output: PipelineOutput = await (pipe.run as (o: typeof call) => Promise<PipelineOutput>)(call)
  for (const warning of output.warnings) process.stderr.write(`warning: ${warning}\n`)
  const written = await output.save(userPath(options.out))
  if (!options.quiet) progress.finish(`${pipe.className}: ${steps} steps in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return written
}
