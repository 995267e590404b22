// Exposes `hidden_states[-2]` of a CLIP vision encoder export (transformers `CLIPVisionModelWithProjection`, whose
// standard ONNX exports output only `image_embeds` and `last_hidden_state`) as an extra graph output.
// In transformers' CLIPEncoder, hidden_states[0] is the (pre-LayerNorm'd) embeddings and hidden_states[i] the output
// of layer i - 1, so hidden_states[-2] is the output of `encoder.layers.{L-2}` (L layers), or of `pre_layrnorm` when
// L = 1. The output tensor of a module is the one its nodes produce and nodes outside it consume.
import { DataType, GraphEditor, makeNode, makeTensorValueInfo, tensorTypeOf } from "@pagkit/onnx"
import type { ModelProto } from "@pagkit/onnx"
import { IpAdapterModelError } from "../errors.js"
import { isWithin, nodeModulePath } from "./module-path.js"

/** Name of the output added by {@link exposePenultimateHiddenStates}. */
export const PENULTIMATE_HIDDEN_STATES = "penultimate_hidden_states"

const LAYER_PATH = /^(.*?)encoder\.layers\.(\d+)(?:\.|$)/

/** Adds the `PENULTIMATE_HIDDEN_STATES` output to a decoded image encoder; returns the module it reads. */
export function exposePenultimateHiddenStates(model: ModelProto, source: string): { module: string; layers: number } {
  const graph = model.graph
  if (graph.outputs.some((o) => o.name === PENULTIMATE_HIDDEN_STATES)) return { module: "(already exposed)", layers: 0 }
  const paths = graph.nodes.map((n) => nodeModulePath(n))
  const layersByPrefix = new Map<string, number>()
  for (const path of paths) {
    const m = path === undefined ? null : LAYER_PATH.exec(path)
    if (m !== null) layersByPrefix.set(m[1]!, Math.max(layersByPrefix.get(m[1]!) ?? 0, Number(m[2]) + 1))
  }
  const cannot = (what: string): IpAdapterModelError =>
    new IpAdapterModelError(
      `cannot expose the image encoder's penultimate hidden states (hidden_states[-2], which IP-Adapter Plus needs) in "${source}": ${what}. ` +
        "pagkit finds encoder layers from node names such as /vision_model/encoder/layers.N/… (torch.onnx / Optimum exports) or dynamo name_scopes metadata. " +
        "Export the image encoder with Optimum without graph optimizations (optimum-cli export onnx --model <image_encoder> --task feature-extraction), or export a model whose extra output \"penultimate_hidden_states\" is hidden_states[-2].",
    )
  if (layersByPrefix.size === 0) throw cannot("no node belongs to a module encoder.layers.N")
  const [prefix, layers] = [...layersByPrefix].sort((a, b) => b[1] - a[1])[0]!
  const module = layers >= 2 ? `${prefix}encoder.layers.${layers - 2}` : `${prefix}pre_layrnorm`
  const inside = new Set<number>()
  paths.forEach((p, i) => {
    if (p !== undefined && isWithin(p, module)) inside.add(i)
  })
  if (inside.size === 0) throw cannot(`no node belongs to ${module}`)
  const produced = new Set<string>()
  for (const i of inside) for (const out of graph.nodes[i]!.outputs) if (out !== "") produced.add(out)
  const leaving = new Set<string>()
  graph.nodes.forEach((node, i) => {
    if (inside.has(i)) return
    for (const input of node.inputs) if (produced.has(input)) leaving.add(input)
  })
  for (const o of graph.outputs) if (produced.has(o.name)) leaving.add(o.name)
  if (leaving.size !== 1) throw cannot(`${module} should have exactly one output tensor, found ${leaving.size} (${[...leaving].slice(0, 4).join(", ")})`)
  const tensor = [...leaving][0]!
  const reference = graph.outputs.find((o) => o.name === "last_hidden_state") ?? graph.outputs[0]
  const elemType = (reference === undefined ? undefined : tensorTypeOf(reference)?.elemType) ?? DataType.FLOAT
  const editor = new GraphEditor(model)
  if (editor.fresh(PENULTIMATE_HIDDEN_STATES) !== PENULTIMATE_HIDDEN_STATES) throw cannot(`the graph already has a tensor named ${PENULTIMATE_HIDDEN_STATES}`)
  graph.nodes.push(makeNode({ opType: "Identity", name: editor.fresh("penultimate_hidden_states_identity"), inputs: [tensor], outputs: [PENULTIMATE_HIDDEN_STATES], attributes: [] }))
  graph.outputs.push(makeTensorValueInfo(PENULTIMATE_HIDDEN_STATES, elemType, ["batch", "penultimate_sequence", "penultimate_hidden"]))
  return { module, layers }
}
