// PAG's identity self-attention as a graph rewrite (DESIGN §4 "Gates").
// Reference: diffusers/models/attention_processor.py PAGCFGIdentitySelfAttnProcessor2_0 — for perturbed rows
// the attention output is the value projection: hidden_states_ptb = attn.to_v(hidden_states_ptb), then to_out.
import { HookError } from "../errors.js"
import type { AttentionModule, LayerIndex } from "../layers/layer-index.js"
import { intAttribute, intsAttribute } from "../proto/build.js"
import { tensorTypeOf } from "../proto/tensor-type.js"
import { DataType } from "../proto/types.js"
import type { GraphEditor } from "./graph-editor.js"
import { IDENTITY_ATTENTION } from "./hook-kind.js"
import type { HookKind, InstalledHook } from "./hook-kind.js"

/** Name of the gate input added by {@link identityAttention}. */
export const PAG_GATES_INPUT = "pag_gates"

/** Options of {@link identityAttention}. */
export interface IdentityAttentionOptions {
  /** Name of the gate input. Default `"pag_gates"`. */
  readonly inputName?: string
}

/** The symbolic batch dimension of the model's inputs (so gates share it), else `"batch"`. */
function batchParam(editor: GraphEditor): string {
  for (const input of editor.model.graph.inputs) {
    const first = tensorTypeOf(input)?.dims?.[0]
    if (typeof first === "string" && first !== "") return first
  }
  return "batch"
}

function hookLayer(editor: GraphEditor, layer: AttentionModule, column: number, gates: string): void {
  const base = `/pagkit/identity_attention/${layer.path.replaceAll(".", "/")}`
  // g: [batch] -> [batch, 1, 1], in the module's compute type
  const index = editor.addInt64(`${base}/gate_index`, [column], [])
  const gate = editor.addNode("Gather", [gates, index], `${base}/Gather`, [intAttribute("axis", 1)])
  let gate3 =
    editor.opset >= 13
      ? editor.addNode("Unsqueeze", [gate, editor.addInt64(`${base}/axes`, [1, 2])], `${base}/Unsqueeze`)
      : editor.addNode("Unsqueeze", [gate], `${base}/Unsqueeze`, [intsAttribute("axes", [1, 2])])
  if (layer.elemType !== DataType.FLOAT) gate3 = editor.addNode("Cast", [gate3], `${base}/Cast`, [intAttribute("to", layer.elemType)])
  // core' = core + g · (V − core); V and core: [batch, tokens, channels]. `core` is the current input of
  // to_out (an earlier hook on the same layer may have rewired it).
  const core = editor.inputOf(layer.toOut.matmulNode, 0)
  const diff = editor.addNode("Sub", [layer.toV.output, core], `${base}/Sub`)
  const scaled = editor.addNode("Mul", [gate3, diff], `${base}/Mul`)
  const mixed = editor.addNode("Add", [core, scaled], `${base}/Add`)
  editor.rewire(layer.toOut.matmulNode, 0, core, mixed)
}

/**
 * The identity-attention hook kind (PAG). Adds one float input `pag_gates` `[batch, S]` covering all S
 * self-attention layers of the graph; in layer `j`, row `b` computes `core + g[b, j]·(V − core)` before `to_out`.
 * Gate 0 leaves the row untouched, gate 1 replaces its attention map by the identity.
 *
 * @example
 * const unet = await loadHookedModel("unet/model.onnx", { hooks: [identityAttention()] })
 * const gates = unet.gates("identity-attention", [[], [], ["mid_block.attentions.0.transformer_blocks.0.attn1"]])
 */
export function identityAttention(options: IdentityAttentionOptions = {}): HookKind {
  const inputName = options.inputName ?? PAG_GATES_INPUT
  return {
    name: IDENTITY_ATTENTION,
    version: 1,
    target: "self-attention",
    cacheKey: inputName,
    layers: (index: LayerIndex) => index.selfAttention.map((a) => a.path),
    install(editor: GraphEditor, index: LayerIndex): InstalledHook {
      const layers = index.selfAttention
      if (layers.length === 0) {
        throw new HookError(
          `identity attention needs self-attention modules, but the layer index found none (attention modules: ${index.attention.length}). Use a UNet or transformer export whose attention modules have to_q/to_k/to_v/to_out.0 projections.`,
        )
      }
      editor.addInput(inputName, DataType.FLOAT, [batchParam(editor), layers.length])
      layers.forEach((layer, column) => hookLayer(editor, layer, column, inputName))
      return {
        kind: IDENTITY_ATTENTION,
        target: "self-attention",
        layers: layers.map((a) => a.path),
        inputs: [
          {
            name: inputName,
            layout: "gates",
            description: "per row and self-attention layer: 0 = normal attention, 1 = identity attention (PAG's perturbed branch)",
          },
        ],
      }
    },
  }
}
