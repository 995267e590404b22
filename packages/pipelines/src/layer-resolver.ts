import { LayerPatternError, layerSites, resolveLayers, structuredPrefix } from "@pagkit/onnx"
import type { LayerIndex, LayerTarget, RowActivation } from "@pagkit/onnx"
import { activationLayers, activationValue } from "@pagkit/guidance"
import type { HookActivations } from "@pagkit/guidance"
import type { RowHooks } from "@pagkit/models-core"
import { PipelineError } from "./errors.js"

/**
 * How layer patterns are read. `"diffusers"` (default) reproduces diffusers' `re.search` selection and, where
 * diffusers would raise, accepts the PAG guide's structured syntax (`"down.block_2"`, `"up.block_1.attentions_0"`).
 * `"strict"`: numbers match whole path components (`"blocks.1"` is block 1 only).
 */
export type LayerMatching = "diffusers" | "strict"

interface Resolved {
  readonly layers: readonly string[]
  readonly notes: readonly string[]
}

/**
 * Resolves guidance hook patterns to site paths of one model, per target type (self-attention for PAG, blocks for
 * skip-layer guidance, …), caching each pattern list.
 */
export class LayerResolver {
  readonly #index: LayerIndex | undefined
  readonly #selfAttention: readonly string[]
  readonly #mode: LayerMatching
  readonly #cache = new Map<string, Resolved>()

  /** `index`: a model's layer index, or (legacy) its self-attention module paths in graph order. */
  constructor(index: LayerIndex | readonly string[], mode: LayerMatching = "diffusers") {
    this.#index = Array.isArray(index) ? undefined : (index as LayerIndex)
    this.#selfAttention = Array.isArray(index) ? (index as readonly string[]) : layerSites(index as LayerIndex, "self-attention")
    this.#mode = mode
  }

  /** How patterns are read. */
  get mode(): LayerMatching {
    return this.#mode
  }

  /** Every site of a target type, in graph order. */
  sites(target: LayerTarget = "self-attention"): readonly string[] {
    if (target === "self-attention") return this.#selfAttention
    if (this.#index === undefined) {
      throw new PipelineError("HOOK_TARGET_UNKNOWN", `this model's layer index is not known, so ${target} sites cannot be listed; only self-attention patterns resolve.`)
    }
    return layerSites(this.#index, target)
  }

  /** Site paths selected by a list of patterns (throws `LayerPatternError` listing valid sites; `[]` is an error). */
  resolve(patterns: readonly string[], target: LayerTarget = "self-attention"): readonly string[] {
    return this.#resolved(patterns, target).layers
  }

  /** Notes on how patterns were read (over-matching numbers, structured syntax), for callers to surface. */
  notes(patterns: readonly string[], target: LayerTarget = "self-attention"): readonly string[] {
    return this.#resolved(patterns, target).notes
  }

  #resolved(patterns: readonly string[], target: LayerTarget): Resolved {
    if (patterns.length === 0) {
      throw new PipelineError(
        "EMPTY_LAYER_LIST",
        `an empty list of ${target} layer patterns selects nothing, so the hook would silently do nothing. Pass patterns such as ["mid"], or turn the strategy off (scale 0).`,
      )
    }
    const key = `${target}|${JSON.stringify(patterns)}`
    const cached = this.#cache.get(key)
    if (cached !== undefined) return cached
    const paths = this.sites(target)
    const selected = new Set<string>()
    const notes: string[] = []
    for (const pattern of patterns) {
      const result = this.#resolveOne(pattern, paths, target)
      for (const layer of result.layers) selected.add(layer)
      notes.push(...result.notes)
    }
    const resolved = { layers: paths.filter((p) => selected.has(p)), notes }
    this.#cache.set(key, resolved)
    return resolved
  }

  #resolveOne(pattern: string, paths: readonly string[], target: LayerTarget): Resolved {
    if (typeof pattern !== "string" || pattern.trim() === "") {
      throw new PipelineError("EMPTY_LAYER_LIST", `layer pattern ${JSON.stringify(pattern)} is empty; pass a pattern such as "mid" or "down_blocks.2".`)
    }
    try {
      return resolveLayers(paths, [pattern], { mode: this.#mode, target })
    } catch (error) {
      if (!(error instanceof LayerPatternError) || this.#mode !== "diffusers" || structuredPrefix(pattern) === undefined) throw error
      const result = resolveLayers(paths, [pattern], { mode: "strict", target })
      return { layers: result.layers, notes: [`"${pattern}": read as the PAG guide's structured syntax (diffusers itself would raise).`] }
    }
  }

  /**
   * Hook activations of a row (kind → patterns, or patterns with a value) as the denoiser wants them (kind → site
   * paths with the value), each kind's patterns resolved against its target's sites.
   */
  rowHooks(hooks: HookActivations, targetOf: (kind: string) => LayerTarget = () => "self-attention"): RowHooks | undefined {
    const kinds = Object.keys(hooks)
    if (kinds.length === 0) return undefined
    const out: Record<string, RowActivation> = {}
    for (const kind of kinds) {
      const layers = this.resolve(activationLayers(hooks[kind]), targetOf(kind))
      const value = activationValue(hooks[kind])
      out[kind] = value === 1 ? { layers } : { layers, value }
    }
    return out
  }
}
