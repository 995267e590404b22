// Skip-Layer Guidance's perturbation as a graph rewrite: for gated rows a transformer block (or its self-attention,
// or its feed-forward modules) becomes the identity.
// Reference: diffusers/hooks/layer_skip.py (LayerSkipConfig, apply_layer_skip: TransformerBlockSkipHook when
// skip_attention and skip_ff, else AttentionProcessorSkipHook on the block's non-cross attention modules — output :=
// input, or with skip_attention_scores scaled_dot_product_attention returning the values — else FeedForwardSkipHook).
import { HookError } from "../errors.js"
import type { AttentionModule, LayerIndex, TransformerBlock, UnprojectedAttention } from "../layers/layer-index.js"
import { DataType } from "../proto/types.js"
import type { DataTypeCode } from "../proto/types.js"
import { batchParam, gateColumn, gatedReplace } from "./gate-column.js"
import type { GraphEditor } from "./graph-editor.js"
import type { HookKind, InstalledHook } from "./hook-kind.js"

/** Name of the block-skip kind (Skip-Layer Guidance). Look the kind up by this constant, never by a string literal. */
export const BLOCK_SKIP = "block-skip"

/** Name of the gate input added by {@link blockSkip}. */
export const BLOCK_SKIP_GATES_INPUT = "block_skip_gates"

/** Options of {@link blockSkip}, as diffusers' `LayerSkipConfig` (camelCased, same defaults, same precedence). */
export interface BlockSkipOptions {
  /** Skip the block's self-attention (output := input). Default true. */
  readonly skipAttention?: boolean
  /** Replace the attention scores by the identity (attention output := values). Default false; not with `skipAttention`. */
  readonly skipAttentionScores?: boolean
  /** Skip the block's feed-forward modules (output := input). Default true. With `skipAttention`: the whole block. */
  readonly skipFf?: boolean
  /** Name of the gate input. Default `"block_skip_gates"`. */
  readonly inputName?: string
  /** Kind name, to install two block-skip variants side by side. Default {@link BLOCK_SKIP}. */
  readonly name?: string
}

/** What a gated row skips, from the options (diffusers' `_apply_layer_skip_hook` order). */
export type BlockSkipMode = "block" | "attention" | "attention-scores" | "feed-forward"

function skipMode(options: BlockSkipOptions): BlockSkipMode {
  const attention = options.skipAttention ?? true
  const scores = options.skipAttentionScores ?? false
  const ff = options.skipFf ?? true
  if (attention && scores) {
    throw new HookError("blockSkip: skipAttention and skipAttentionScores cannot both be true (as in diffusers' LayerSkipConfig). Set skipAttention: false to skip the attention scores only.")
  }
  if (attention && ff) return "block"
  if (attention) return "attention"
  if (scores) return "attention-scores"
  if (ff) return "feed-forward"
  throw new HookError("blockSkip: at least one of skipAttention, skipAttentionScores or skipFf must be true; found all false.")
}

function blockElemType(index: LayerIndex, block: string): DataTypeCode {
  const modules = [...index.attention, ...(index.jointAttention ?? []), ...(index.unprojectedAttention ?? [])]
  return modules.find((m) => m.block === block)?.elemType ?? DataType.FLOAT
}

function selfAttentionOf(index: LayerIndex, block: string): (AttentionModule | UnprojectedAttention)[] {
  const modules = [...index.attention, ...(index.jointAttention ?? []), ...(index.unprojectedAttention ?? [])]
  return modules.filter((m) => m.block === block && m.kind !== "cross")
}

/** The blocks a mode can act on: all of them for whole-block skips, else those with the modules it skips. */
function skippableBlocks(index: LayerIndex, mode: BlockSkipMode): TransformerBlock[] {
  if (mode === "block") return [...index.blocks]
  if (mode === "feed-forward") return index.blocks.filter((b) => (index.feedForward ?? []).some((f) => f.block === b.path))
  const modules = (b: TransformerBlock) => selfAttentionOf(index, b.path).filter((m) => mode === "attention" || m.kind !== "joint")
  return index.blocks.filter((b) => modules(b).length > 0)
}

function skipBlock(editor: GraphEditor, block: TransformerBlock, gate: string, base: string): void {
  gatedReplace(editor, { output: block.hiddenOutput, replacement: block.hiddenInput, gate, base: `${base}/hidden` })
  if (block.encoderInput !== undefined && block.encoderOutput !== undefined) {
    gatedReplace(editor, { output: block.encoderOutput, replacement: block.encoderInput, gate, base: `${base}/encoder` })
  }
}

function skipAttention(editor: GraphEditor, module: AttentionModule | UnprojectedAttention, gate: string, base: string): void {
  if (module.output === undefined) {
    throw new HookError(`attention module "${module.path}" has no output in the layer index (an index cached by an older version). Clear the hook cache and load the model again.`)
  }
  gatedReplace(editor, { output: module.output, replacement: module.normedInput, gate, base })
  if ("toAddOut" in module && module.toAddOut !== undefined && module.addQ !== undefined) {
    gatedReplace(editor, { output: module.toAddOut.output, replacement: module.addQ.input, gate, base: `${base}/context` })
  }
}

function skipScores(editor: GraphEditor, module: AttentionModule | UnprojectedAttention, gate: string, base: string): void {
  if (module.kind === "joint") {
    throw new HookError(
      `blockSkip({ skipAttentionScores: true }) cannot act on the joint attention "${module.path}": its values span text and image tokens. Use skipAttention or a whole-block skip there.`,
    )
  }
  if ("toOut" in module) {
    // core' = core + g·(V − core) before to_out, as identity attention does
    const core = editor.inputOf(module.toOut.matmulNode, 0)
    gatedReplace(editor, { output: core, replacement: module.toV.output, gate, base })
  } else {
    gatedReplace(editor, { output: module.output, replacement: module.toV.output, gate, base })
  }
}

/**
 * The block-skip hook kind (Skip-Layer Guidance). Adds one float input `block_skip_gates` `[batch, blocks]` covering
 * every transformer block of the graph (`layerSites(index, "block")`) that the mode can act on (all of them for a
 * whole-block skip; those with feed-forward modules or self-attention for the partial skips, so a block the mode
 * cannot change is refused by `controlFeeds` rather than silently left alone). For a row with gate `g` on block `j`, what the
 * options select becomes `out + g·(in − out)`: by default the whole block (`hiddenOutput := hiddenInput`, and the
 * text stream too in dual-stream blocks), else its self-attention modules, the attention scores (output := values)
 * or its feed-forward modules — diffusers' `LayerSkipConfig` semantics. Gate 0 leaves the row untouched.
 *
 * @example
 * const unet = await loadHookedModel("unet/model.onnx", { hooks: [identityAttention(), blockSkip()] })
 * const feeds = controlFeeds(unet.hook(BLOCK_SKIP), [undefined, undefined, { layers: resolveLayers(unet.index, ["mid"], { target: "block" }).layers }])
 */
export function blockSkip(options: BlockSkipOptions = {}): HookKind {
  const mode = skipMode(options)
  const inputName = options.inputName ?? BLOCK_SKIP_GATES_INPUT
  const name = options.name ?? BLOCK_SKIP
  return {
    name,
    version: 1,
    target: "block",
    cacheKey: `${inputName}:${mode}`,
    layers: (index: LayerIndex) => skippableBlocks(index, mode).map((b) => b.path),
    install(editor: GraphEditor, index: LayerIndex): InstalledHook {
      const blocks = skippableBlocks(index, mode)
      if (blocks.length === 0) {
        throw new HookError(
          `block skip (${mode}) needs transformer blocks ("…transformer_blocks.N", "single_transformer_blocks.N")${mode === "block" ? "" : ` with ${mode === "feed-forward" ? "feed-forward modules" : "self-attention"}`}, but the layer index found none (blocks: ${index.blocks.length}, attention modules: ${index.attention.length}). Use a UNet or transformer export with module paths, or another skip mode.`,
        )
      }
      editor.addInput(inputName, DataType.FLOAT, [batchParam(editor), blocks.length])
      // last block first: an earlier block's skip then also redirects the later block's reads of its output
      for (let column = blocks.length - 1; column >= 0; column--) {
        const block = blocks[column]!
        const base = `/pagkit/block_skip/${block.path.replaceAll(".", "/")}`
        const gate = gateColumn(editor, { input: inputName, column, base, elemType: blockElemType(index, block.path) })
        if (mode === "block") skipBlock(editor, block, gate, base)
        else if (mode === "feed-forward") {
          for (const ff of (index.feedForward ?? []).filter((f) => f.block === block.path)) {
            gatedReplace(editor, { output: ff.output, replacement: ff.input, gate, base: `${base}/${ff.path.split(".").at(-1)}` })
          }
        } else {
          for (const module of selfAttentionOf(index, block.path)) {
            const moduleBase = `${base}/${module.path.split(".").at(-1)}`
            if (mode === "attention") skipAttention(editor, module, gate, moduleBase)
            else skipScores(editor, module, gate, moduleBase)
          }
        }
      }
      return {
        kind: name,
        target: "block",
        layers: blocks.map((b) => b.path),
        inputs: [
          {
            name: inputName,
            layout: "gates",
            description: `per row and transformer block: 0 = normal, 1 = ${mode === "block" ? "the block is skipped (output = input)" : mode === "feed-forward" ? "its feed-forward modules are skipped" : mode === "attention" ? "its self-attention is skipped" : "its attention scores are the identity"} (Skip-Layer Guidance)`,
          },
        ],
      }
    },
  }
}
