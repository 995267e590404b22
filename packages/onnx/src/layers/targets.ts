// Layer targets: the kinds of site a hook can act on, and the module paths of each kind of site in a graph.
import type { LayerIndex } from "./layer-index.js"

/**
 * What a hook kind acts on. Patterns resolve against the sites of the kind's target:
 * - `"self-attention"` / `"cross-attention"`: attention modules (`…attn1`, `…attn2`); `"joint-attention"`: SD3/Flux-style
 *   attention over text and image tokens together (its own type, never read as self-attention);
 * - `"attention-query"`: the query projection of any attention module (`…attn1.to_q`), including modules without
 *   `to_out` (Flux single blocks);
 * - `"block"`: a whole transformer block (`…transformer_blocks.N`, `single_transformer_blocks.N`), input → output;
 * - `"feed-forward"`: the feed-forward module of a block (`…ff`).
 */
export type LayerTarget = "self-attention" | "cross-attention" | "joint-attention" | "attention-query" | "block" | "feed-forward"

/** Every {@link LayerTarget}, for messages and validation. */
export const LAYER_TARGETS: readonly LayerTarget[] = Object.freeze([
  "self-attention",
  "cross-attention",
  "joint-attention",
  "attention-query",
  "block",
  "feed-forward",
])

/**
 * Module paths of every site of one target type, in graph order.
 *
 * @example
 * layerSites(index, "block") // ["down_blocks.1.attentions.0.transformer_blocks.0", …]
 */
export function layerSites(index: LayerIndex, target: LayerTarget): readonly string[] {
  switch (target) {
    case "self-attention":
      return index.selfAttention.map((a) => a.path)
    case "cross-attention":
      return index.crossAttention.map((a) => a.path)
    case "joint-attention":
      return (index.jointAttention ?? []).map((a) => a.path)
    case "attention-query":
      return [...index.attention, ...(index.jointAttention ?? []), ...(index.unprojectedAttention ?? [])].map((a) => `${a.path}.to_q`)
    case "block":
      return index.blocks.map((b) => b.path)
    case "feed-forward":
      return (index.feedForward ?? []).map((f) => f.path)
  }
}
