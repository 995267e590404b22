import { existsSync, readFileSync } from "node:fs"
import path from "node:path"
import type { GuidanceJSON } from "@pagkit/guidance"
import { PIXART_DEFAULT_PAG_LAYERS, PipelineWorker, familyOf } from "@pagkit/pipelines"
import type { WorkerCallOptions, WorkerOutput, WorkerPipelineSpec } from "@pagkit/pipelines"
import type { CliOptions } from "./args.js"
import { CliError, UserAbortError } from "./errors.js"
import { guidanceChainFromFlags } from "./guidance-flags.js"
import type { GuidanceFlagDefaults } from "./guidance-flags.js"
import { encodeImages, formatOf } from "./image-format.js"
import { readInput } from "./inputs.js"
import { resolveModel, userPath } from "./model-path.js"
import { checkOutputTargets, outputNames, writeOutputs } from "./output-file.js"
import type { Reporter } from "./reporter.js"

/** Steps when the user gives none: the tiny embedded model is fast enough for more, real SDXL gets diffusers' 50. */
const TINY_DEFAULT_STEPS = 30

const tasks = { generate: "text2image", img2img: "image2image", inpaint: "inpainting", compare: "text2image" } as const

/** A run's options without the command name (`compare` builds these per row). */
export type RunOptions = Omit<CliOptions, "command"> & { readonly command: CliOptions["command"] | "compare" }

/** The guidance defaults of a model family for a command, as its pipelines apply them. */
export function familyDefaults(familyId: string, command: RunOptions["command"]): GuidanceFlagDefaults {
  if (familyId === "pixart-sigma") return { guidanceScale: 4.5, pagLayers: PIXART_DEFAULT_PAG_LAYERS }
  return { guidanceScale: command === "inpaint" ? 7.5 : 5, pagLayers: ["mid"] }
}

/** Reads `--guidance FILE` (the chain's JSON); the worker validates it against its catalogue. */
export function readGuidanceFile(file: string, flag = "--guidance"): GuidanceJSON {
  const where = userPath(file)
  let text: string
  try {
    text = readFileSync(where, "utf8")
  } catch (error) {
    throw new CliError(`${flag}: cannot read ${where}: ${(error as Error).message}.`, { code: "INPUT_NOT_FOUND" })
  }
  try {
    return JSON.parse(text) as GuidanceJSON
  } catch (error) {
    throw new CliError(`${flag}: ${where} is not valid JSON (${(error as Error).message}). Expected {"guidance":[{"name":"cfg","scale":5}, …]}.`, { code: "GUIDANCE_JSON" })
  }
}

function existing(flag: string, file: string, what: string): string {
  const where = userPath(file)
  if (!existsSync(where)) throw new CliError(`${flag}: ${what} not found: ${where}.`, { code: "INPUT_NOT_FOUND" })
  return where
}

/** The IP-Adapter spec: weights, the image encoder (flag, or `image_encoder/` beside the weights) and its feature extractor. */
function ipAdapterSpec(options: RunOptions): WorkerPipelineSpec["ipAdapter"] {
  if (options.ipAdapter.length === 0) return undefined
  const files = options.ipAdapter.map((file) => existing("--ip-adapter", file, "IP-Adapter weights"))
  const weights = files.length === 1 ? files[0]! : files
  const beside = path.join(path.dirname(files[0]!), "image_encoder")
  const imageEncoder =
    options.imageEncoder !== undefined ? existing("--image-encoder", options.imageEncoder, "image encoder folder")
    : existsSync(beside) ? beside
    : undefined
  if (imageEncoder === undefined) {
    throw new CliError(`--ip-adapter needs the CLIP image encoder: pass --image-encoder <dir> (no image_encoder/ beside ${files[0]}).`)
  }
  const featureExtractor = path.join(path.dirname(imageEncoder), "feature_extractor")
  return { weights, imageEncoder, ...(existsSync(featureExtractor) ? { featureExtractor } : {}) }
}

/** Everything one command's runs need, checked before the first step. */
export interface PreparedRun {
  readonly modelDir: string
  readonly familyId: string
  readonly pipeline: WorkerPipelineSpec
  /** The call for one seed. */
  callFor(seed: number): WorkerCallOptions
}

/**
 * Checks the command line against the model and the file system and builds the worker request: the chain from
 * the guidance flags (or `--guidance FILE`), adapters, inputs read (FIFOs here, abortable).
 */
export async function prepareRun(
  options: RunOptions,
  signal: AbortSignal,
  overrides: { guidance?: GuidanceJSON; onWait?: (message: string) => void } = {},
): Promise<PreparedRun> {
  const modelDir = await resolveModel(options.model, "--model", overrides.onWait)
  const family = await familyOf(modelDir)
  const task = tasks[options.command]
  if (!family.tasks.includes(task)) {
    const commands = family.tasks.map((t) => Object.entries(tasks).find(([, v]) => v === t)?.[0] ?? t)
    throw new CliError(
      `${modelDir} is a ${family.name} model; pagkit's ${family.name} pipelines support ${commands.map((c) => `"${c}"`).join(", ")} only, not "${options.command}". Use an SDXL model for ${options.command}.`,
      { code: "UNSUPPORTED_TASK" },
    )
  }
  const defaults = familyDefaults(family.id, options.command)
  const chain = overrides.guidance ?? (options.guidance !== undefined ? readGuidanceFile(options.guidance) : guidanceChainFromFlags(options, defaults))
  const read = async (flag: string, file: string | undefined): Promise<string | Uint8Array | undefined> =>
    file === undefined ? undefined : readInput(flag, file, signal, overrides.onWait)
  const image = await read("--image", options.image)
  const mask = await read("--mask", options.mask)
  const ipAdapterImages: (string | Uint8Array)[] = []
  for (const file of options.ipAdapterImage) ipAdapterImages.push((await read("--ip-adapter-image", file))!)
  // one image for every adapter, or one per adapter (diffusers: a list with one entry per adapter)
  const ipAdapterImage =
    ipAdapterImages.length === 0 ? undefined
    : options.ipAdapter.length === 1 ? ipAdapterImages[0]!
    : options.ipAdapter.map((_, k) => ipAdapterImages[ipAdapterImages.length === 1 ? 0 : k]!)
  const controlImages: (string | Uint8Array)[] = []
  for (const file of options.controlImage) controlImages.push((await read("--control-image", file))!)
  const ipAdapter = ipAdapterSpec(options)
  const plugins = options.plugins === undefined ? undefined : existsSync(userPath(options.plugins)) ? userPath(options.plugins) : options.plugins
  const controlnet = options.controlnet.map((dir) => existing("--controlnet", dir, "ControlNet folder"))
  const pipeline: WorkerPipelineSpec = {
    task,
    modelDir,
    enablePag: chain === undefined && (options.pagScale ?? 3) > 0,
    ...(chain === undefined && options.pagLayers !== undefined ? { pagAppliedLayers: options.pagLayers } : {}),
    ...(options.layerMatching === undefined ? {} : { layerMatching: options.layerMatching }),
    ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
    ...(options.executionProviders === undefined ? {} : { executionProviders: options.executionProviders }),
    ...(options.threads === undefined ? {} : { sessionOptions: { intraOpThreads: options.threads } }),
    ...(options.unet === undefined ? {} : { unet: existing("--unet", options.unet, "UNet folder") }),
    ...(controlnet.length === 0 ? {} : { controlnet: controlnet.length === 1 ? controlnet[0]! : controlnet }),
    ...(ipAdapter === undefined ? {} : { ipAdapter }),
    ...(options.ipAdapterScale === undefined
      ? {}
      : { ipAdapterScale: options.ipAdapter.length === 1 ? options.ipAdapterScale[0]! : options.ipAdapter.map((_, k) => options.ipAdapterScale![options.ipAdapterScale!.length === 1 ? 0 : k]!) }),
    ...(plugins === undefined ? {} : { plugins }),
  }
  const steps = options.steps ?? (options.model === undefined ? TINY_DEFAULT_STEPS : 50)
  const control = controlImages.length === 0 ? undefined : controlImages.length === 1 ? controlImages[0]! : controlImages
  const scale = options.controlnetScale === undefined ? undefined : options.controlnetScale.length === 1 ? options.controlnetScale[0]! : options.controlnetScale
  const base: WorkerCallOptions = {
    prompt: options.prompt,
    numInferenceSteps: steps,
    numImagesPerPrompt: options.numImages,
    ...(options.negativePrompt === undefined ? {} : { negativePrompt: options.negativePrompt }),
    ...(options.execution === undefined ? {} : { execution: options.execution }),
    ...(chain !== undefined
      ? { guidance: chain }
      : {
          ...(options.guidanceScale === undefined ? {} : { guidanceScale: options.guidanceScale }),
          ...(options.guidanceRescale === undefined ? {} : { guidanceRescale: options.guidanceRescale }),
          pagScale: options.pagScale ?? 3,
          ...(options.pagAdaptiveScale === undefined ? {} : { pagAdaptiveScale: options.pagAdaptiveScale }),
        }),
    ...(options.width === undefined ? {} : { width: options.width }),
    ...(options.height === undefined ? {} : { height: options.height }),
    ...(image === undefined ? {} : { image }),
    ...(mask === undefined ? {} : { maskImage: mask }),
    ...(options.strength === undefined ? {} : { strength: options.strength }),
    ...(control === undefined ? {} : options.command === "img2img" || options.command === "inpaint" ? { controlImage: control } : { image: control }),
    ...(scale === undefined ? {} : { controlnetConditioningScale: scale }),
    ...(ipAdapterImage === undefined ? {} : { ipAdapterImage }),
  }
  return { modelDir, familyId: family.id, pipeline, callFor: (seed) => ({ ...base, seed }) }
}

/** The strategies the guidance-family flags name, and their flags. */
const familyFlags: Readonly<Record<string, string>> = { seg: "--seg-scale", slg: "--slg-scale", apg: "--apg", "cfg-zero-star": "--cfg-zero-star" }

/** Adds what to do when the worker's catalogue lacks a strategy a family flag asked for (same error, same code). */
export function withStrategyHint(error: unknown): unknown {
  if (!(error instanceof Error)) return error
  const id = /unknown strategy "([^"]+)"/.exec(error.message)?.[1]
  const flag = id === undefined ? undefined : familyFlags[id]
  if (flag !== undefined) {
    error.message += ` (${flag} asks for the "${id}" strategy, which this build's pipelines do not ship yet: install the version of @pagkit/pipelines that does, or pass --plugins <module> exporting guidance: { "${id}": factory }.)`
  }
  return error
}

/** Runs one seed in the worker with a progress bar (or JSON progress events); rejects on abort. */
export async function runSeed(
  worker: PipelineWorker,
  run: { prepared: PreparedRun; seed: number; label: string; reporter: Reporter; signal: AbortSignal; pipeline?: WorkerPipelineSpec },
): Promise<WorkerOutput> {
  const { prepared, seed, reporter, signal } = run
  const progress = reporter.progress(run.label, seed)
  let stepsRun = 0
  try {
    const output = await worker.run(
      { pipeline: run.pipeline ?? prepared.pipeline, call: prepared.callFor(seed) },
      { signal, onProgress: (e) => ((stepsRun = e.numSteps), progress.step(e.step + 1, e.numSteps, e.timestep)) },
    )
    // Ctrl-C after the last step but before the result arrived: still write nothing.
    if (signal.aborted) throw new UserAbortError()
    progress.finish(`${output.className}: seed ${seed}, ${stepsRun} steps in ${(output.timings.runMs / 1000).toFixed(1)} s`)
    return output
  } catch (error) {
    throw withStrategyHint(error)
  } finally {
    progress.stop()
  }
}

/**
 * `generate`, `img2img`, `inpaint`: checks the targets, runs each seed in a worker thread (the pipeline stays loaded
 * between seeds), then writes every image at once (temporary files, then renames). Returns the files written.
 */
export async function runCommand(options: CliOptions, reporter: Reporter, signal: AbortSignal): Promise<string[]> {
  const started = Date.now()
  const format = formatOf(options.out)
  const names = outputNames(userPath(options.out), options.seeds, options.numImages)
  await checkOutputTargets(names.flat(), { force: options.force })
  const prepared = await prepareRun(options, signal, { onWait: (message) => reporter.note(message) })
  reporter.emit({ type: "start", command: options.command, model: prepared.modelDir, seeds: options.seeds })
  const worker = new PipelineWorker()
  const outputs: WorkerOutput[] = []
  try {
    for (const seed of options.seeds) outputs.push(await runSeed(worker, { prepared, seed, label: options.seeds.length > 1 ? `${options.command} seed ${seed}` : options.command, reporter, signal }))
  } finally {
    await worker.close()
  }
  const warnings = new Set(outputs.flatMap((o) => o.warnings))
  for (const message of warnings) reporter.emit({ type: "warning", message })
  const files = []
  const described = []
  for (const [i, output] of outputs.entries()) {
    if (output.images === undefined) throw new CliError(`the pipeline returned no images.`, { code: "NO_IMAGES", exitCode: 1 })
    const encoded = await encodeImages(output.images, format, options.quality)
    const [, , height, width] = output.images.shape as [number, number, number, number]
    for (const [j, bytes] of encoded.entries()) {
      files.push({ path: names[i]![j]!, bytes })
      described.push({ seed: options.seeds[i]!, index: j, width, height })
    }
  }
  const written = await writeOutputs(files, { force: options.force })
  for (const [k, file] of written.entries()) reporter.emit({ type: "output", file, ...described[k]!, format })
  reporter.emit({ type: "done", files: written, seconds: (Date.now() - started) / 1000, pipeline: outputs[0]?.className ?? "" })
  return written
}
