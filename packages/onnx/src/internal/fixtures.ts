// Paths of the tiny-model fixtures, for this package's tests only.
import path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))

/** `packages/tiny-models/models`. */
export const modelsDir = path.resolve(here, "../../../tiny-models/models")
/** `packages/tiny-models/oracles`. */
export const oraclesDir = path.resolve(here, "../../../tiny-models/oracles")

/** Absolute path of a fixture model file, e.g. `model("tiny-sdxl/unet")`. */
export function model(folder: string): string {
  return path.join(modelsDir, folder, "model.onnx")
}
