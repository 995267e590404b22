import { LayerPatternError, resolveLayers, structuredPrefix } from "@pagkit/onnx"
import type { LayerIndex } from "@pagkit/onnx"
import type { HookActivations } from "@pagkit/guidance"
import type { RowHooks } from "@pagkit/models-core"

/**
 * How layer patterns are read. `"diffusers"` (default) reproduces diffusers' `re.search` selection and, where
 * diffusers would raise, accepts the PAG guide's structured syntax (`"down.block_2"`, `"up.block_1.attentions_0"`).
 * `"strict"`: numbers match whole path components (`"blocks.1"` is block 1 only).
 */
export type LayerMatching = "diffusers" | "strict"

/** Resolves guidance hook patterns to module paths of one model, caching each pattern list. */
export class LayerResolver {
  readonly #index: LayerIndex | readonly string[]
  readonly #paths: readonly string[]
  readonly #mode: LayerMatching
  readonly #cache = new Map<string, { readonly layers: readonly string[]; readonly notes: readonly string[] }>()

  /** `index`: a model's layer index, or its self-attention module paths in graph order. */
  constructor(index: LayerIndex | readonly string[], mode: LayerMatching = "diffusers") {
    this.#index = index
    this.#paths = Array.isArray(index) ? (index as readonly string[]) : (index as LayerIndex).selfAttention.map((a) => a.path)
    this.#mode = mode
  }

  /** How patterns are read. */
  get mode(): LayerMatching {
    return this.#mode
  }

  /** Module paths selected by a list of patterns (throws `LayerPatternError` listing valid layers). */
  resolve(patterns: readonly string[]): readonly string[] {
    return this.#resolved(patterns).layers
  }

  /** Notes on how patterns were read (over-matching numbers, structured syntax), for callers to surface. */
  notes(patterns: readonly string[]): readonly string[] {
    return this.#resolved(patterns).notes
  }

  #resolved(patterns: readonly string[]): { readonly layers: readonly string[]; readonly notes: readonly string[] } {
    const key = JSON.stringify(patterns)
    const cached = this.#cache.get(key)
    if (cached !== undefined) return cached
    const selected = new Set<string>()
    const notes: string[] = []
    for (const pattern of patterns) {
      const result = this.#resolveOne(pattern)
      for (const layer of result.layers) selected.add(layer)
      notes.push(...result.notes)
    }
    const resolved = { layers: this.#paths.filter((p) => selected.has(p)), notes }
    this.#cache.set(key, resolved)
    return resolved
  }

  #resolveOne(pattern: string): { readonly layers: readonly string[]; readonly notes: readonly string[] } {
    try {
      return resolveLayers(this.#index, [pattern], { mode: this.#mode })
    } catch (error) {
      if (!(error instanceof LayerPatternError) || this.#mode !== "diffusers" || structuredPrefix(pattern) === undefined) throw error
      const result = resolveLayers(this.#index, [pattern], { mode: "strict" })
      return { layers: result.layers, notes: [`"${pattern}": read as the PAG guide's structured syntax (diffusers itself would raise).`] }
    }
  }

  /** Hook activations of a row (kind → patterns) as the denoiser wants them (kind → module paths). */
  rowHooks(hooks: HookActivations): RowHooks | undefined {
    const kinds = Object.keys(hooks)
    if (kinds.length === 0) return undefined
    const out: Record<string, readonly string[]> = {}
    for (const kind of kinds) out[kind] = this.resolve(hooks[kind] ?? [])
    return out
  }
}
