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
