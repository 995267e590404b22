// What a hook kind is: which sites it rewrites, how, and which control inputs drive it at run time.
import type { Tensor } from "@pagkit/tensor"
import type { LayerIndex } from "../layers/layer-index.js"
import type { LayerTarget } from "../layers/targets.js"
import type { GraphEditor } from "./graph-editor.js"

/**
 * How a control input is laid out:
 * - `"gates"`: float `[batch, layers]`, 1 where a row switches the hook on for a layer, 0 elsewhere;
 * - `"params"`: float `[batch, layers]`, a per-row, per-layer parameter (a blur sigma, a mixing weight), `offValue` where off;
 * - `"scales"`: float `[layers]`, one value per layer for every row (an IP-Adapter scale);
 * - `"custom"`: any shape, built only by the kind's own {@link HookKind.feeds} (e.g. a blur operator per row whose size
 *   is the site's token grid). It cannot be defaulted: callers feed it through `hookFeeds` even when every row is off.
 */
export type ControlLayout = "gates" | "params" | "scales" | "custom"

/** A graph input a hook kind adds, fed at run time. */
export interface ControlInput {
  /** Input name, e.g. `pag_gates`. */
  readonly name: string
  /** What one row/column means, for messages and docs. */
  readonly description: string
  readonly layout: ControlLayout
  /** Value that leaves a row/layer unhooked (default 0). */
  readonly offValue?: number
  /** For inputs that serve one site only (`"custom"` layouts): that site's path. */
  readonly site?: string
}

/** What {@link HookKind.install} reports back (plain data: it is stored in the hook cache). */
export interface InstalledHook {
  readonly kind: string
  /** The target type of {@link layers} (absent in caches written before targets existed: self-attention). */
  readonly target?: LayerTarget
  /** Site paths this kind can act on, in the order of its control inputs' last axis. */
  readonly layers: readonly string[]
  readonly inputs: readonly ControlInput[]
}

/** One row's activation of a hook kind: which sites (resolved module paths) and the row's value there. */
export interface RowActivation {
  readonly layers: readonly string[]
  /** Gate or parameter value on those layers (default 1: "on" for gates). */
  readonly value?: number
}

/** What a kind may need to build its control inputs for one call. */
export interface FeedContext {
  /** Shape of the sample fed to the denoiser this call, e.g. `[batch, 4, h, w]`. */
  readonly sampleShape: readonly number[]
  /**
   * The `[height, width]` token grid of a site for this sample (a family knows its down-sampling: SDXL UNet levels,
   * a DiT's patch size). Undefined when the family cannot tell.
   */
  readonly tokenGrid?: (site: string) => readonly [height: number, width: number] | undefined
}

/**
 * One way of rewriting sites of a graph, driven by control inputs (DESIGN §4). Kinds are plain values passed to
 * `installHooks`/`loadHookedModel` (and, in the pipelines, found by name in a catalogue); nothing registers itself.
 */
export interface HookKind {
  /** Stable name, e.g. {@link IDENTITY_ATTENTION}; the key of the hook set in caches, catalogues and plans. */
  readonly name: string
  /** Part of the on-disk cache key: bump when the rewrite changes. */
  readonly version: number
  /**
   * Anything else the rewrite depends on, for the on-disk cache key (e.g. the path, size and mtime of an
   * IP-Adapter weights file whose tensors become initializers). Omit when the rewrite depends on the graph only.
   */
  readonly cacheKey?: string
  /** The type of site this kind acts on: guidance patterns resolve against these sites. */
  readonly target: LayerTarget
  /** The sites this kind covers (ALL that it could act on: selection happens at run time through inputs). */
  layers(index: LayerIndex): readonly string[]
  /** Rewrites the graph once; returns what it installed. */
  install(editor: GraphEditor, index: LayerIndex): InstalledHook
  /**
   * Builds this kind's control inputs for a call from per-row activations (length = batch; undefined = off).
   * Omit to use {@link controlFeeds}: gates/params `[batch, layers]` with each row's value on its layers.
   */
  feeds?(installed: InstalledHook, rows: readonly (RowActivation | undefined)[], context: FeedContext): Record<string, Tensor>
}

/** Name of the identity-attention kind (PAG). Look the kind up by this constant, never by a string literal. */
export const IDENTITY_ATTENTION = "identity-attention"
