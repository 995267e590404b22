import { InvalidOptionError } from "../errors.js"
import { PIXART_CALL_OPTIONS } from "./pixart-options.js"
import type { LayerMatching } from "../layer-resolver.js"
import type { PixArtSigmaCallOptions } from "./pixart-options.js"

/** `pagAppliedLayers` as a frozen list of patterns. */
export function patternList(layers: string | readonly string[]): readonly string[] {
  const list = typeof layers === "string" ? [layers] : layers
  if (!Array.isArray(list) || list.some((l) => typeof l !== "string" || l === "")) {
    throw new InvalidOptionError(`pagAppliedLayers: expected a pattern or a list of patterns such as "blocks.1", found ${JSON.stringify(layers)}.`)
  }
  return Object.freeze([...(list as readonly string[])])
}

/** Checks `layerMatching`. */
export function checkMatching(matching: unknown): LayerMatching {
  if (matching !== "diffusers" && matching !== "strict") {
    throw new InvalidOptionError(`layerMatching: expected "diffusers" or "strict", found ${JSON.stringify(matching)}.`)
  }
  return matching
}

/** Rejects unknown options and out-of-range numbers before anything runs. */
export function checkOptions(options: PixArtSigmaCallOptions): void {
  const unknown = Object.keys(options).filter((k) => !PIXART_CALL_OPTIONS.has(k) && (options as Record<string, unknown>)[k] !== undefined)
  if (unknown.length > 0) {
    throw new InvalidOptionError(
      `PixArtSigmaPipeline does not take ${unknown.map((k) => `"${k}"`).join(", ")}. It takes: ${[...PIXART_CALL_OPTIONS].sort().join(", ")}.`,
    )
  }
  for (const key of ["guidanceScale", "pagScale", "pagAdaptiveScale"] as const) {
    const v = options[key]
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new InvalidOptionError(`${key}: expected a number ≥ 0, found ${String(v)}.`)
  }
  for (const key of ["numInferenceSteps", "numImagesPerPrompt"] as const) {
    const v = options[key]
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new InvalidOptionError(`${key}: expected a whole number ≥ 1, found ${String(v)}.`)
  }
  if (options.prompt !== undefined && options.promptEmbeds !== undefined) {
    throw new InvalidOptionError("pass either prompt or promptEmbeds, not both.")
  }
  if (options.timesteps !== undefined && options.sigmas !== undefined) {
    throw new InvalidOptionError("pass timesteps or sigmas, not both (diffusers' retrieve_timesteps).")
  }
}
