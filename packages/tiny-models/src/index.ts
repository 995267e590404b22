/**
 * `@pagkit/tiny-models`: tiny diffusers pipelines exported to ONNX (data only) and diffusers' reference outputs.
 * The embedded default model of the CLI and the models every test uses.
 * @module
 */
import { fileURLToPath } from "node:url"
import path from "node:path"

/** Names of the bundled model folders. */
export type TinyModelName =
  | "tiny-sdxl"
  | "tiny-sdxl-shapes"
  | "tiny-controlnet-sdxl"
  | "tiny-ip-adapter"
  | "tiny-pixart-sigma"
  | "variants/unet-controlnet"
  | "variants/unet-dynamo"
  | "variants/unet-fp16"

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

/** Folder that holds every bundled model (`models/`). */
export function tinyModelsDir(): string {
  return path.join(packageRoot, "models")
}

/**
 * Absolute path of a bundled model folder.
 * @example
 * tinyModelPath("tiny-sdxl-shapes") // …/packages/tiny-models/models/tiny-sdxl-shapes
 */
export function tinyModelPath(name: TinyModelName): string {
  return path.join(packageRoot, "models", name)
}

/** Folder of the bundled diffusers reference cases (`oracles/`). */
export function tinyOraclesDir(): string {
  return path.join(packageRoot, "oracles")
}
