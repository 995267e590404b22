// IP-Adapter's decoupled cross-attention as a graph rewrite (DESIGN §4).
// Reference: diffusers `models/attention_processor.py` `IPAdapterAttnProcessor2_0.__call__` (no masks):
//   ip = sdpa(query, to_k_ip(tokens), to_v_ip(tokens)) merged over heads; hidden_states += scale · ip; then to_out.
// The attention core of each `attn2` (reshape to heads, scaled scores, softmax, weighted sum, merge) is cloned
// from the graph with the key/value projections replaced, so the export's own head count and scaling are reused.
import { DataType, HookError, intAttribute, makeInitializer, tensorTypeOf } from "@pagkit/onnx"
import type { AttentionModule, GraphEditor, HookKind, InstalledHook, LayerIndex, NodeProto } from "@pagkit/onnx"
import { floatToFloat16Bits } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { IpAdapterWeightsError } from "./errors.js"
import { addMaskSource, maskedOutput } from "./internal/ip-adapter-mask.js"
import type { MaskSource } from "./internal/ip-adapter-mask.js"
import type { IpAdapterAttentionWeights } from "./ip-adapter-weights.js"

/** Hook kind name of {@link ipAdapterAttention}. */
export const IP_ADAPTER_KIND = "ip-adapter"
/** Per-row image tokens input `float[batch, tokens, crossAttentionDim]` added by {@link ipAdapterAttention}. */
export const IP_ADAPTER_TOKENS_INPUT = "ip_adapter_image_tokens"
/** Per-layer scale input `float[layers]` added by {@link ipAdapterAttention}. */
export const IP_ADAPTER_SCALE_INPUT = "ip_adapter_scale"
/** Mask input `float[1, 1, H, W]` added by {@link ipAdapterAttention} with `masks: true`. */
export const IP_ADAPTER_MASK_INPUT = "ip_adapter_mask"

const REWRITE_VERSION = 1
const TOP_LEVEL_ORDER = ["down_blocks", "up_blocks", "mid_block"]

/**
 * Cross-attention module paths in the order of diffusers' `unet.attn_processors` (module registration order of
 * `UNet2DConditionModel`: down blocks, up blocks, then the mid block; numbers ascending), which numbers the
 * IP-Adapter keys `ip_adapter.{2i+1}`.
 */
export function ipAdapterLayerOrder(paths: readonly string[]): string[] {
  const rank = (p: string): number => {
    const i = TOP_LEVEL_ORDER.indexOf(p.split(".")[0] ?? "")
    return i === -1 ? TOP_LEVEL_ORDER.length : i
  }
  const compare = (a: string, b: string): number => {
    if (rank(a) !== rank(b)) return rank(a) - rank(b)
    const pa = a.split(".")
    const pb = b.split(".")
    for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
      const x = pa[i]!
      const y = pb[i]!
      if (x === y) continue
      const nx = Number(x)
      const ny = Number(y)
      return Number.isInteger(nx) && Number.isInteger(ny) ? nx - ny : x < y ? -1 : 1
    }
    return pa.length - pb.length
  }
  return [...paths].sort(compare)
}

/** FNV-1a over the weights' bytes, so the on-disk hook cache keys differ between checkpoints. */
function weightsHash(weights: IpAdapterAttentionWeights): number {
  let h = 0x811c9dc5 ^ REWRITE_VERSION
  const mix = (t: Tensor<"float32">): void => {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193)
  }
  for (const layer of weights.layers) {
    mix(layer.toK)
    mix(layer.toV)
  }
  return h >>> 0
}

function batchParam(editor: GraphEditor): string {
  for (const input of editor.model.graph.inputs) {
    const first = tensorTypeOf(input)?.dims?.[0]
    if (typeof first === "string" && first !== "") return first
  }
  return "batch"
}

/** Initializer holding `weightᵀ` (`[in, out]`, for `MatMul(x, Wᵀ)`) in the layer's compute type. */
function addTransposedWeight(editor: GraphEditor, base: string, weight: Tensor<"float32">, elemType: number): string {
  const [out, inDim] = weight.shape as [number, number]
  const name = editor.fresh(base)
  let raw: Uint8Array
  if (elemType === DataType.FLOAT16) {
    const bits = new Uint16Array(out * inDim)
    for (let o = 0; o < out; o++) for (let i = 0; i < inDim; i++) bits[i * out + o] = floatToFloat16Bits(weight.data[o * inDim + i]!)
    raw = new Uint8Array(bits.buffer)
  } else {
    const data = new Float32Array(out * inDim)
    for (let o = 0; o < out; o++) for (let i = 0; i < inDim; i++) data[i * out + o] = weight.data[o * inDim + i]!
    raw = new Uint8Array(data.buffer)
  }
  editor.model.graph.initializers.push(makeInitializer(name, elemType === DataType.FLOAT16 ? DataType.FLOAT16 : DataType.FLOAT, [inDim, out], raw))
  return name
}

/** Nodes on a path from `sources` to `target` (both ends' producers included), in graph order. */
function attentionCore(nodes: readonly NodeProto[], sources: readonly string[], target: string): NodeProto[] {
  const producer = new Map<string, number>()
  const consumers = new Map<string, number[]>()
  nodes.forEach((n, i) => {
    for (const o of n.outputs) producer.set(o, i)
    for (const input of n.inputs) {
      const list = consumers.get(input)
      if (list === undefined) consumers.set(input, [i])
      else list.push(i)
    }
  })
  const ancestors = new Set<number>()
  const stack = [target]
  while (stack.length > 0) {
    const p = producer.get(stack.pop()!)
    if (p === undefined || ancestors.has(p)) continue
    ancestors.add(p)
    stack.push(...nodes[p]!.inputs)
  }
  const descendants = new Set<number>()
  const front = [...sources]
  while (front.length > 0) {
    for (const c of consumers.get(front.pop()!) ?? []) {
      if (descendants.has(c)) continue
      descendants.add(c)
      front.push(...nodes[c]!.outputs)
    }
  }
  return nodes.filter((_, i) => ancestors.has(i) && descendants.has(i))
}

function weightDims(editor: GraphEditor, name: string): readonly number[] | undefined {
  return editor.model.graph.initializers.find((i) => i.name === name)?.dims
}

function checkLayer(editor: GraphEditor, layer: AttentionModule, weights: IpAdapterAttentionWeights, i: number): void {
  const w = weights.layers[i]!
  const dims = weightDims(editor, layer.toK.weight)
  if (dims === undefined || dims.length !== 2) return
  const [crossDim, hidden] = dims as [number, number]
  if (crossDim !== weights.crossAttentionDim || hidden !== w.toK.shape[0] || hidden !== w.toV.shape[0]) {
    throw new IpAdapterWeightsError(
      `IP-Adapter layer ip_adapter.${2 * i + 1} does not fit UNet layer ${layer.path}: its to_k projects ${crossDim} → ${hidden}, ` +
        `the IP-Adapter's to_k_ip ${weights.crossAttentionDim} → ${w.toK.shape[0]} (to_v_ip → ${w.toV.shape[0]}). ` +
        `Use IP-Adapter weights made for this UNet (${weights.path}).`,
    )
  }
}

/** Graph input names of adapter `k` (adapter 0 keeps the single-adapter names). */
export function ipAdapterInputNames(k: number): { readonly tokens: string; readonly scale: string; readonly mask: string } {
  const suffix = k === 0 ? "" : `_${k}`
  return { tokens: `${IP_ADAPTER_TOKENS_INPUT}${suffix}`, scale: `${IP_ADAPTER_SCALE_INPUT}${suffix}`, mask: `${IP_ADAPTER_MASK_INPUT}${suffix}` }
}

/** Adapter `k`'s attention output in one layer, `softmax(Q·K_ipᵀ/√d)·V_ip`, the core cloned from the graph. */
function adapterCore(editor: GraphEditor, layer: AttentionModule, weights: IpAdapterAttentionWeights, k: number, column: number, base: string): string {
  const w = weights.layers[column]!
  let tokens = ipAdapterInputNames(k).tokens
  if (layer.elemType !== DataType.FLOAT) tokens = editor.addNode("Cast", [tokens], `${base}/tokens/Cast`, [intAttribute("to", layer.elemType)])
  const keyIp = editor.addNode("MatMul", [tokens, addTransposedWeight(editor, `${base}/to_k_ip.weight`, w.toK, layer.elemType)], `${base}/to_k_ip/MatMul`)
  const valueIp = editor.addNode("MatMul", [tokens, addTransposedWeight(editor, `${base}/to_v_ip.weight`, w.toV, layer.elemType)], `${base}/to_v_ip/MatMul`)
  const core = attentionCore(editor.model.graph.nodes, [layer.toK.output, layer.toV.output], layer.core)
  if (core.length === 0) {
    throw new HookError(`IP-Adapter: cannot find the attention core of ${layer.path} between its to_k/to_v outputs and "${layer.core}".`)
  }
  const renamed = new Map<string, string>([
    [layer.toK.output, keyIp],
    [layer.toV.output, valueIp],
  ])
  for (const node of core) {
    const outputs = node.outputs.map((o) => {
      const fresh = editor.fresh(`${base}/ip/${o.split("/").pop() ?? "t"}`)
      renamed.set(o, fresh)
      return fresh
    })
    editor.model.graph.nodes.push({
      ...node,
      name: editor.fresh(`${base}/ip/${node.name.split("/").pop() ?? node.opType}`),
      inputs: node.inputs.map((i) => renamed.get(i) ?? i),
      outputs,
      attributes: [...node.attributes],
      metadata: [],
    })
  }
  const ipCore = renamed.get(layer.core)
  if (ipCore === undefined) throw new HookError(`IP-Adapter: the attention core of ${layer.path} does not produce "${layer.core}".`)
  return ipCore
}

/** core' = core + Σ_k scale_k[column] · (masked) ip_k, before to_out. */
function hookLayer(editor: GraphEditor, layer: AttentionModule, adapters: readonly IpAdapterAttentionWeights[], column: number, masks: readonly MaskSource[] | undefined): void {
  let mixed = layer.core
  adapters.forEach((weights, k) => {
    const base = `/pagkit/ip_adapter/${k === 0 ? "" : `adapter_${k}/`}${layer.path.replaceAll(".", "/")}`
    let ip = adapterCore(editor, layer, weights, k, column, base)
    if (masks !== undefined) ip = maskedOutput(editor, ip, masks[k]!, `${base}/mask`, layer.elemType)
    let scale = editor.addNode("Gather", [ipAdapterInputNames(k).scale, editor.addInt64(`${base}/scale_index`, [column], [])], `${base}/scale/Gather`, [
      intAttribute("axis", 0),
    ])
    if (layer.elemType !== DataType.FLOAT) scale = editor.addNode("Cast", [scale], `${base}/scale/Cast`, [intAttribute("to", layer.elemType)])
    const scaled = editor.addNode("Mul", [ip, scale], `${base}/Mul`)
    mixed = editor.addNode("Add", [mixed, scaled], `${base}/Add`)
  })
  editor.rewire(layer.toOut.matmulNode, 0, layer.core, mixed)
}

/** Options of {@link ipAdapterAttention}. */
export interface IpAdapterAttentionOptions {
  /**
   * Adds a mask input per adapter (`ip_adapter_mask`, `ip_adapter_mask_1`, … `[1, 1, H, W]`, 1 = where the adapter
   * acts): diffusers' `ip_adapter_masks` (`IPAdapterMaskProcessor` masks), downsampled in the graph to each layer's
   * token grid. Feed `[1, 1, 1, 1]` ones for "no mask" (bit-identical to a graph without masks). Default false.
   */
  readonly masks?: boolean
}

/**
 * The IP-Adapter hook kind: every cross-attention layer (`attn2`) gets `Σ_k scale_k[l] · softmax(Q·K_ipₖᵀ/√d)·V_ipₖ`
 * added before `to_out`, one term per adapter (diffusers `IPAdapterAttnProcessor2_0` with several adapters). Adds,
 * per adapter k (names from {@link ipAdapterInputNames}; adapter 0: `ip_adapter_image_tokens`, `ip_adapter_scale`),
 * the per-row image tokens `[batch, tokens_k, C]` (the projected image embeddings, replicated per row like the text
 * embeddings), the scale `[layers]` (columns in {@link ipAdapterLayerOrder}) and with `masks` a mask input.
 * Scale 0 leaves a layer exactly as the plain graph computes it. Throws {@link IpAdapterWeightsError} when the
 * weights do not fit the UNet's cross-attention layers.
 *
 * @example
 * const unet = await loadHookedModel("unet/model.onnx", { hooks: [identityAttention(), ipAdapterAttention(weights)] })
 * const two = ipAdapterAttention([plusWeights, baseWeights], { masks: true }) // two adapters, masks
 */
export function ipAdapterAttention(weights: IpAdapterAttentionWeights | readonly IpAdapterAttentionWeights[], options: IpAdapterAttentionOptions = {}): HookKind {
  const adapters: readonly IpAdapterAttentionWeights[] = Array.isArray(weights) ? weights : [weights as IpAdapterAttentionWeights]
  if (adapters.length === 0) throw new IpAdapterWeightsError("ipAdapterAttention needs the weights of at least one IP-Adapter, found an empty list.")
  const masks = options.masks === true
  const layersOf = (index: LayerIndex): AttentionModule[] => {
    const byPath = new Map(index.crossAttention.map((a) => [a.path, a]))
    return ipAdapterLayerOrder([...byPath.keys()]).map((p) => byPath.get(p)!)
  }
  let version = adapters.reduce((h, w) => Math.imul(h ^ weightsHash(w), 0x01000193) >>> 0, 0x811c9dc5 ^ adapters.length)
  if (masks) version = Math.imul(version ^ 0x6d61736b, 0x01000193) >>> 0
  // one adapter without masks keeps the version (and on-disk cache key) it always had
  if (adapters.length === 1 && !masks) version = weightsHash(adapters[0]!)
  return {
    name: IP_ADAPTER_KIND,
    version,
    target: "cross-attention",
    layers: (index) => layersOf(index).map((a) => a.path),
    install(editor: GraphEditor, index: LayerIndex): InstalledHook {
      const layers = layersOf(index)
      adapters.forEach((w) => {
        if (layers.length !== w.layers.length) {
          throw new IpAdapterWeightsError(
            `IP-Adapter weights "${w.path}" have ${w.layers.length} cross-attention layers (ip_adapter.1 … ip_adapter.${2 * w.layers.length - 1}), ` +
              `but the UNet has ${layers.length} (${layers.map((l) => l.path).join(", ") || "none"}). Use IP-Adapter weights made for this UNet.`,
          )
        }
        layers.forEach((layer, i) => checkLayer(editor, layer, w, i))
      })
      const sources = adapters.map((w, k) => {
        const names = ipAdapterInputNames(k)
        editor.addInput(names.tokens, DataType.FLOAT, [batchParam(editor), k === 0 ? "ip_adapter_tokens" : `ip_adapter_tokens_${k}`, w.crossAttentionDim])
        editor.addInput(names.scale, DataType.FLOAT, [layers.length])
        return masks ? addMaskSource(editor, k, names.mask) : undefined
      })
      layers.forEach((layer, i) => hookLayer(editor, layer, adapters, i, masks ? (sources as MaskSource[]) : undefined))
      return {
        kind: IP_ADAPTER_KIND,
        target: "cross-attention",
        layers: layers.map((l) => l.path),
        inputs: adapters.map((_, k) => ({
          name: ipAdapterInputNames(k).scale,
          layout: "scales" as const,
          description: `per cross-attention layer: weight of IP-Adapter ${k}'s image-prompt attention (0 = no effect)`,
        })),
      }
    },
  }
}
