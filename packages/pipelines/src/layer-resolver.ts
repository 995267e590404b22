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
  readonly #index: LayerIndex
  readonly #mode: LayerMatching
  readonly #cache = new Map<string, readonly string[]>()
  /** Notes from resolution (over-matching, structured syntax used), for callers to surface. */
  readonly notes: string[] = []

  constructor(index: LayerIndex, mode: LayerMatching = "diffusers") {
    this.#index = index
    this.#mode = mode
  }

  /** Module paths selected by a list of patterns (throws `LayerPatternError` listing valid layers). */
  resolve(patterns: readonly string[]): readonly string[] {
    const key = JSON.stringify(patterns)
    const cached = this.#cache.get(key)
    if (cached !== undefined) return cached
    const selected = new Set<string>()
    for (const pattern of patterns) {
      for (const layer of this.#resolveOne(pattern)) selected.add(layer)
    }
    const order = this.#index.selfAttention.map((a) => a.path)
    const layers = order.filter((p) => selected.has(p))
    this.#cache.set(key, layers)
    return layers
  }

  #resolveOne(pattern: string): readonly string[] {
    try {
      const result = resolveLayers(this.#index, [pattern], { mode: this.#mode })
      this.notes.push(...result.notes)
      return result.layers
    } catch (error) {
      if (!(error instanceof LayerPatternError) || this.#mode !== "diffusers" || structuredPrefix(pattern) === undefined) throw error
      const result = resolveLayers(this.#index, [pattern], { mode: "strict" })
      this.notes.push(`"${pattern}": read as the PAG guide's structured syntax (diffusers itself would raise).`)
      return result.layers
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
