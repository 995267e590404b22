// Paths of the tiny models and oracles, for tests only.
import { fileURLToPath } from "node:url"
import type { PixArtSigmaModel } from "../pixart-model.js"

/** `packages/tiny-models/models/<name>`. */
export function tinyModel(name: string): string {
  return fileURLToPath(new URL(`../../../tiny-models/models/${name}`, import.meta.url))
}

/** `packages/tiny-models/oracles/<name>`. */
export function tinyOracle(name: string): string {
  return fileURLToPath(new URL(`../../../tiny-models/oracles/${name}`, import.meta.url))
}

let shared: Promise<PixArtSigmaModel> | undefined

/** tiny-pixart-sigma loaded once per test file. */
export async function sharedTinyPixArt(): Promise<PixArtSigmaModel> {
  const { loadPixArtSigma } = await import("../load-pixart-sigma.js")
  shared ??= loadPixArtSigma(tinyModel("tiny-pixart-sigma"))
  return shared
}
