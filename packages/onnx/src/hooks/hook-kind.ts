// What a hook kind is: which modules it rewrites, how, and which control inputs it adds.
import type { LayerIndex } from "../layers/layer-index.js"
import type { GraphEditor } from "./graph-editor.js"

/** A graph input a hook kind adds, fed at run time. */
export interface ControlInput {
  /** Input name, e.g. `pag_gates`. */
  readonly name: string
  /** What one row/column means, for messages and docs. */
  readonly description: string
  /** `"gates"`: float `[batch, layers]`, 0 = unhooked; `"scales"`: float `[layers]` (e.g. an IP-Adapter scale). */
  readonly layout: "gates" | "scales"
}

/** What {@link HookKind.install} reports back. */
export interface InstalledHook {
  readonly kind: string
  /** Module paths this kind can act on, in the order of its control input's last axis. */
  readonly layers: readonly string[]
  readonly inputs: readonly ControlInput[]
}

/**
 * One way of rewriting modules, driven by control inputs (DESIGN §4). Kinds are plain values passed to
 * `installHooks`/`loadHookedModel`; nothing registers itself. Later kinds (block skip, query blur,
 * IP-Adapter cross-attention with its K/V initializers and runtime scale) implement the same shape.
 */
export interface HookKind {
  /** Stable name, e.g. `"identity-attention"`; the key of the hook set in caches and plans. */
  readonly name: string
  /** Part of the on-disk cache key: bump when the rewrite changes. */
  readonly version: number
  /**
   * Anything else the rewrite depends on, for the on-disk cache key (e.g. the path, size and mtime of an
   * IP-Adapter weights file whose tensors become initializers). Omit when the rewrite depends on the graph only.
   */
  readonly cacheKey?: string
  /** The modules this kind covers (ALL that it could act on: selection happens at run time through inputs). */
  layers(index: LayerIndex): readonly string[]
  /** Rewrites the graph once; returns what it installed. */
  install(editor: GraphEditor, index: LayerIndex): InstalledHook
}
