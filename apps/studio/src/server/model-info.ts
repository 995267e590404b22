import { readFile } from "node:fs/promises"
import path from "node:path"
import { buildLayerIndex, decodeModel } from "@pagkit/onnx"
import { LayerResolver, PIXART_DEFAULT_PAG_LAYERS } from "@pagkit/pipelines"
import { defaultSchedulers } from "@pagkit/schedulers"
import { StudioError } from "./errors.js"
import { STUDIO_TASKS } from "./job-schema.js"
import type { StudioTask } from "./job-schema.js"

/** A hookable self-attention layer: its module path and the block it sits in (for grouping in the picker). */
export interface HookableLayer {
  readonly path: string
  /** `down_blocks.2`, `mid_block`, `up_blocks.0`, `transformer_blocks.3`, … */
  readonly group: string
  /** Selected by the model's default PAG layer patterns. */
  readonly default: boolean
}

/** Values a job gets when its request leaves them out. */
export interface ModelDefaults {
  readonly steps: number
  readonly guidanceScale: number
  readonly pagScale: number
  readonly pagLayers: readonly string[]
  readonly width: number
  readonly height: number
  readonly scheduler: string
  readonly strength: number
}

/** `GET /api/model`: what the loaded model is and what the page may offer. */
export interface ModelInfo {
  /** `sdxl` or `pixart-sigma`. */
  readonly family: "sdxl" | "pixart-sigma"
  /** diffusers' pipeline class in `model_index.json`. */
  readonly className: string
  /** The folder's name (the full path stays on the server). */
  readonly name: string
  readonly tasks: readonly StudioTask[]
  /** PAG-hookable self-attention layers in graph order. */
  readonly layers: readonly HookableLayer[]
  readonly schedulers: readonly string[]
  readonly defaults: ModelDefaults
}

/** The model info plus what the server needs to validate against it (not sent to the page). */
export interface LoadedModelInfo {
  readonly info: ModelInfo
  readonly modelDir: string
  readonly resolver: LayerResolver
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = await readFile(file, "utf8")
  } catch (error) {
    throw new StudioError("MODEL_FOLDER", `expected ${file} (a diffusers ONNX export), found nothing there: ${(error as Error).message}. Pass --model <dir> with model_index.json, unet/, vae_decoder/, …`, { cause: error })
  }
  return JSON.parse(text) as Record<string, unknown>
}

function groupOf(layerPath: string): string {
  const match = /^(down_blocks\.\d+|up_blocks\.\d+|mid_block|transformer_blocks\.\d+|blocks\.\d+)/.exec(layerPath)
  return match?.[1] ?? layerPath.split(".")[0] ?? layerPath
}

/**
 * Reads a model folder's family, hookable layers (from the UNet's or transformer's ONNX graph, without creating a
 * session) and defaults.
 * @example
 * const { info } = await loadModelInfo("packages/tiny-models/models/tiny-sdxl-shapes")
 * info.layers.map((l) => l.path) // ["down_blocks.1.attentions.0.transformer_blocks.0.attn1", …]
 */
export async function loadModelInfo(modelDir: string): Promise<LoadedModelInfo> {
  const index = await readJson(path.join(modelDir, "model_index.json"))
  const className = typeof index["_class_name"] === "string" ? index["_class_name"] : "unknown"
  const family = className.startsWith("PixArtSigma") ? "pixart-sigma" : "sdxl"
  const denoiser = family === "sdxl" ? "unet" : "transformer"
  const graphFile = path.join(modelDir, denoiser, "model.onnx")
  let bytes: Uint8Array
  try {
    bytes = await readFile(graphFile)
  } catch (error) {
    throw new StudioError("MODEL_FOLDER", `expected the ${denoiser} graph at ${graphFile}, found nothing: ${(error as Error).message}. Pass --model <dir> with a complete diffusers ONNX export.`, { cause: error })
  }
  const layerIndex = buildLayerIndex(decodeModel(bytes))
  const denoiserConfig = await readJson(path.join(modelDir, denoiser, "config.json"))
  const vaeConfig = await readJson(path.join(modelDir, "vae_decoder", "config.json")).catch(() => ({}) as Record<string, unknown>)
  const schedulerConfig = await readJson(path.join(modelDir, "scheduler", "scheduler_config.json")).catch(() => ({}) as Record<string, unknown>)
  const blocks = Array.isArray(vaeConfig["block_out_channels"]) ? vaeConfig["block_out_channels"].length : 4
  const vaeScaleFactor = 2 ** (blocks - 1)
  const sampleSize = typeof denoiserConfig["sample_size"] === "number" ? denoiserConfig["sample_size"] : 128
  const tiny = path.basename(modelDir).startsWith("tiny-")
  const folderScheduler = typeof schedulerConfig["_class_name"] === "string" ? schedulerConfig["_class_name"] : "EulerDiscreteScheduler"
  const resolver = new LayerResolver(layerIndex)
  const pagLayers = family === "sdxl" ? ["mid"] : [...PIXART_DEFAULT_PAG_LAYERS]
  const defaultPaths = new Set(resolver.resolve(pagLayers))
  const info: ModelInfo = {
    family,
    className,
    name: path.basename(path.resolve(modelDir)),
    tasks: family === "sdxl" ? STUDIO_TASKS : ["text2image"],
    layers: layerIndex.selfAttention.map((a) => ({ path: a.path, group: groupOf(a.path), default: defaultPaths.has(a.path) })),
    schedulers: Object.keys(defaultSchedulers).sort(),
    defaults: {
      steps: tiny ? 8 : family === "sdxl" ? 30 : 20,
      guidanceScale: family === "sdxl" ? 5 : 4.5,
      pagScale: 3,
      pagLayers,
      width: sampleSize * vaeScaleFactor,
      height: sampleSize * vaeScaleFactor,
      scheduler: folderScheduler,
      strength: 0.6,
    },
  }
  return { info, modelDir: path.resolve(modelDir), resolver }
}
