// Paths of the tiny models and oracles, for tests only.
import { fileURLToPath } from "node:url"

/** `packages/tiny-models/models/<name>`. */
export function tinyModel(name: string): string {
  return fileURLToPath(new URL(`../../../tiny-models/models/${name}`, import.meta.url))
}

/** `packages/tiny-models/oracles/<name>`. */
export function tinyOracle(name: string): string {
  return fileURLToPath(new URL(`../../../tiny-models/oracles/${name}`, import.meta.url))
}

let shared: Promise<import("../sdxl-model.js").SdxlModel> | undefined

/** tiny-sdxl loaded once per test file, its UNet hooked for PAG (gates 0 = the plain model). */
export async function sharedTinySdxl(): Promise<import("../sdxl-model.js").SdxlModel> {
  const { loadSdxl } = await import("../load-sdxl.js")
  const { identityAttention } = await import("@pagkit/onnx")
  shared ??= loadSdxl(tinyModel("tiny-sdxl"), { hooks: [identityAttention()] })
  return shared
}
