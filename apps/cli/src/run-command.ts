import path from "node:path"
import { existsSync, readFileSync } from "node:fs"
import type { GuidanceJSON } from "@pagkit/guidance"
import { AbortedError, PipelineWorker } from "@pagkit/pipelines"
import type { WorkerCallOptions, WorkerOutput, WorkerPipelineSpec } from "@pagkit/pipelines"
import { tinyModelPath } from "@pagkit/tiny-models"
import { CliError } from "./args.js"
import type { CliOptions } from "./args.js"
import { createProgress } from "./progress.js"

/** Steps when the user gives none: the tiny embedded model is fast enough for more, real SDXL gets diffusers' 50. */
const TINY_DEFAULT_STEPS = 30

const tasks = { generate: "text2image", img2img: "image2image", inpaint: "inpainting" } as const

/** Resolves a user path against the directory the command was typed in (pnpm scripts run from the root). */
export function userPath(file: string): string {
  return path.resolve(process.env["INIT_CWD"] ?? process.cwd(), file)
}

function pipelineSpec(options: CliOptions, model: string): WorkerPipelineSpec {
  return {
    task: tasks[options.command],
    modelDir: model,
    enablePag: options.guidance === undefined && options.pagScale > 0,
    ...(options.pagLayers === undefined ? {} : { pagAppliedLayers: options.pagLayers }),
    ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
    ...ipAdapterSpec(options),
  }
}

/** `--ip-adapter` (repeatable), `--image-encoder` and `--ip-adapter-scale` as the worker's pipeline spec. */
function ipAdapterSpec(options: CliOptions): Pick<WorkerPipelineSpec, "ipAdapter" | "ipAdapterScale"> {
  const files = options.ipAdapters.map(userPath)
  if (files.length === 0) return {}
  const scales = options.ipAdapterScales
  const perAdapter = files.map((_, k) => scales[scales.length === 1 ? 0 : k] ?? 1)
  return {
    ipAdapter: { weights: files.length === 1 ? files[0]! : files, imageEncoder: userPath(options.imageEncoder!) },
    ipAdapterScale: files.length === 1 ? perAdapter[0]! : perAdapter,
  }
}

/** Reads `--guidance FILE` (the chain's JSON); the worker validates it against its catalogue. */
function guidanceFile(file: string): GuidanceJSON {
  const where = userPath(file)
  let text: string
  try {
    text = readFileSync(where, "utf8")
  } catch (error) {
    throw new CliError(`--guidance: cannot read ${where}: ${(error as Error).message}.`)
  }
  try {
    return JSON.parse(text) as GuidanceJSON
  } catch (error) {
    throw new CliError(`--guidance: ${where} is not valid JSON (${(error as Error).message}). Expected {"guidance":[{"name":"cfg","scale":5}, …]}.`)
  }
}

function callOptions(options: CliOptions, steps: number): WorkerCallOptions {
  return {
    prompt: options.prompt,
    numInferenceSteps: steps,
    seed: options.seed,
    numImagesPerPrompt: options.numImages,
    ...(options.negativePrompt === undefined ? {} : { negativePrompt: options.negativePrompt }),
    ...(options.guidance === undefined ? {} : { guidance: guidanceFile(options.guidance) }),
    ...(options.guidanceScale === undefined ? {} : { guidanceScale: options.guidanceScale }),
    ...(options.guidanceRescale === undefined ? {} : { guidanceRescale: options.guidanceRescale }),
    ...(options.guidance === undefined ? { pagScale: options.pagScale } : {}),
    ...(options.pagAdaptiveScale === undefined ? {} : { pagAdaptiveScale: options.pagAdaptiveScale }),
    ...(options.width === undefined ? {} : { width: options.width }),
    ...(options.height === undefined ? {} : { height: options.height }),
    ...(options.image === undefined ? {} : { image: userPath(options.image) }),
    ...(options.mask === undefined ? {} : { maskImage: userPath(options.mask) }),
    ...(options.strength === undefined ? {} : { strength: options.strength }),
    ...(options.ipAdapters.length === 0
      ? {}
      : {
          ipAdapterImage:
            options.ipAdapters.length === 1
              ? userPath(options.ipAdapterImages[0]!)
              : options.ipAdapters.map((_, k) => userPath(options.ipAdapterImages[options.ipAdapterImages.length === 1 ? 0 : k]!)),
        }),
  }
}

/**
 * Runs one command end to end and returns the files written. The pipeline runs in a worker thread, so the
 * progress bar keeps redrawing and an abort (Ctrl-C) stops the run after the current step, writing nothing.
 */
export async function runCommand(options: CliOptions, signal: AbortSignal): Promise<string[]> {
  const model = options.model === undefined ? tinyModelPath("tiny-sdxl-shapes") : userPath(options.model)
  if (!existsSync(model)) {
    throw new CliError(`model folder not found: ${model}. Pass --model <dir> with a diffusers ONNX export (model_index.json, unet/, vae_decoder/, …).`)
  }
  const files: [string, string | undefined][] = [["--image", options.image], ["--mask", options.mask], ["--image-encoder", options.imageEncoder]]
  for (const file of options.ipAdapters) files.push(["--ip-adapter", file])
  for (const file of options.ipAdapterImages) files.push(["--ip-adapter-image", file])
  for (const [flag, file] of files) {
    if (file !== undefined && !existsSync(userPath(file))) throw new CliError(`${flag}: file not found: ${userPath(file)}.`)
  }
  const steps = options.steps ?? (options.model === undefined ? TINY_DEFAULT_STEPS : 50)
  const drawn = createProgress(process.stderr, options.command)
  const stepsRun = { count: 0 } // img2img and inpaint run fewer steps than asked (strength)
  const progress = {
    ...drawn,
    step(done: number, total: number, timestep: number) {
      stepsRun.count = total
      if (!options.quiet) drawn.step(done, total, timestep)
    },
  }
  const output = await runInWorkerThread(options, { model, steps, signal, progress })
  const runSeconds = output.timings.runMs / 1000
  // Ctrl-C after the last step but before the result arrived: still write nothing.
  if (signal.aborted) throw new AbortedError(steps, steps)
  for (const warning of output.warnings) process.stderr.write(`warning: ${warning}\n`)
  const written = await output.save(userPath(options.out))
  if (!options.quiet) progress.finish(`${output.className}: ${stepsRun.count || steps} steps in ${runSeconds.toFixed(1)} s`)
  return written
}

/** Every family runs in a worker thread, so the bar keeps redrawing while the denoiser runs. */
async function runInWorkerThread(
  options: CliOptions,
  run: { model: string; steps: number; signal: AbortSignal; progress: ReturnType<typeof createProgress> },
): Promise<WorkerOutput> {
  const { model, steps, signal, progress } = run
  const worker = new PipelineWorker()
  try {
    return await worker.run(
      { pipeline: pipelineSpec(options, model), call: callOptions(options, steps) },
      { signal, onProgress: (e) => progress.step(e.step + 1, e.numSteps, e.timestep) },
    )
  } finally {
    progress.stop()
    await worker.close()
  }
}
