// The layer index: attention modules and transformer blocks of a graph, by PyTorch module path,
// with the tensors hooks need. See DESIGN §4 ("Layer index", "Where to cut").
import { LayerIndexError } from "../errors.js"
import { tensorTypeOf } from "../proto/tensor-type.js"
import { DataType } from "../proto/types.js"
import type { DataTypeCode, ModelProto } from "../proto/types.js"
import { GraphView } from "./graph-view.js"
import type { ModulePathSource } from "./module-paths.js"

/** One linear projection (`to_q`, `to_k`, `to_v`, `to_out.0`) inside an attention module. */
export interface LinearProjection {
  /** Name of its MatMul/Gemm node. */
  readonly matmulNode: string
  /** The tensor it projects (MatMul input 0). */
  readonly input: string
  /** Its result (after the bias Add where there is one). */
  readonly output: string
  /** The weight tensor (MatMul input 1). */
  readonly weight: string
}

/** An attention module (`…attn1`, `…attn2`) and the tensors a hook cuts at. */
export interface AttentionModule {
  /** Module path, e.g. `mid_block.attentions.0.transformer_blocks.1.attn1`. */
  readonly path: string
  /** `self` when keys and values come from the same tensor as queries, else `cross`. */
  readonly kind: "self" | "cross"
  /** Input of the query projection (the normed hidden states). `[batch, tokens, channels]`. */
  readonly normedInput: string
  readonly toQ: LinearProjection
  readonly toK: LinearProjection
  readonly toV: LinearProjection
  readonly toOut: LinearProjection
  /** Attention output before `to_out` with heads merged: input 0 of `to_out.0`'s MatMul. `[batch, tokens, channels]`. */
  readonly core: string
  /** Path of the enclosing `transformer_blocks.N`, if any. */
  readonly block: string | undefined
  /** Element type the module computes in (FLOAT, or FLOAT16 in fp16 graphs). */
  readonly elemType: DataTypeCode
}

/** A `transformer_blocks.N` module and the tensors crossing its boundary (for skip-layer hooks). */
export interface TransformerBlock {
  readonly path: string
  /** The hidden states entering the block (input of its `norm1`). `[batch, tokens, channels]`. */
  readonly hiddenInput: string
  /** The hidden states leaving the block (its last output in graph order). */
  readonly hiddenOutput: string
  /** Non-constant tensors consumed from outside, in graph order (hidden states first). */
  readonly inputs: readonly string[]
  /** Tensors produced inside and used outside. */
  readonly outputs: readonly string[]
}

/** A feed-forward module (`…ff`) and the tensors crossing its boundary. */
export interface FeedForwardModule {
  readonly path: string
  /** The hidden states entering the module. `[batch, tokens, channels]`. */
  readonly input: string
  /** The module's output. `[batch, tokens, channels]`. */
  readonly output: string
}

/** All hookable modules of a graph. */
export interface LayerIndex {
  /** Where module paths came from: legacy node names or dynamo `name_scopes` metadata. */
  readonly source: ModulePathSource
  /** Every attention module, in graph order. */
  readonly attention: readonly AttentionModule[]
  /** Self-attention modules only, in graph order — the layers PAG can perturb. */
  readonly selfAttention: readonly AttentionModule[]
  readonly crossAttention: readonly AttentionModule[]
  /** SD3/Flux-style attention over text and image tokens together (absent in indexes cached by older versions). */
  readonly jointAttention?: readonly AttentionModule[]
  readonly blocks: readonly TransformerBlock[]
  /** Feed-forward modules (absent in indexes cached by older versions). */
  readonly feedForward?: readonly FeedForwardModule[]
}

function linear(view: GraphView, module: string): LinearProjection | undefined {
  const nodes = view.nodesWithin(module)
  const matmulIndex = nodes.find((i) => ["MatMul", "Gemm"].includes(view.node(i).opType))
  if (matmulIndex === undefined) return undefined
  const matmul = view.node(matmulIndex)
  const { outputs } = view.boundary(nodes)
  const output = outputs[outputs.length - 1]
  if (output === undefined || matmul.inputs[0] === undefined) return undefined
  return { matmulNode: matmul.name, input: matmul.inputs[0], output, weight: matmul.inputs[1] ?? "" }
}

function elemTypeOf(view: GraphView, tensor: string, weight: string): DataTypeCode {
  const info = view.graph.valueInfo.find((v) => v.name === tensor)
  const fromInfo = info === undefined ? undefined : tensorTypeOf(info)?.elemType
  if (fromInfo !== undefined && fromInfo !== 0) return fromInfo
  const init = view.initializers.get(weight)
  if (init !== undefined) return view.graph.initializers[init]!.dataType
  return DataType.FLOAT
}

const BLOCK = /(?:^|\.)transformer_blocks\.\d+$/

function enclosingBlock(path: string): string | undefined {
  const parts = path.split(".")
  for (let n = parts.length - 1; n > 0; n--) {
    const candidate = parts.slice(0, n).join(".")
    if (BLOCK.test(candidate)) return candidate
  }
  return undefined
}

/**
 * Builds the layer index of a decoded model: attention modules found through their `to_q`, `to_k`,
 * `to_v`, `to_out.0` projections, self or cross, and the transformer blocks around them.
 *
 * @example
 * const index = buildLayerIndex(decodeModel(bytes))
 * index.selfAttention.map((m) => m.path) // ["down_blocks.1.attentions.0.transformer_blocks.0.attn1", …]
 */
export function buildLayerIndex(model: ModelProto): LayerIndex {
  const view = new GraphView(model.graph)
  if (view.source === undefined) {
    throw new LayerIndexError(
      "no module paths could be recovered from this ONNX graph: its node names carry no scopes (\"/mid_block/attentions.0/…/attn1/to_q/MatMul\") and its nodes have no \"pkg.torch.onnx.name_scopes\" metadata. " +
        "Export with PyTorch's TorchScript exporter (torch.onnx.export(..., dynamo=False) keeps module scopes in node names) or the dynamo exporter (keeps name_scopes metadata), " +
        "and avoid tools that rewrite node names or drop metadata_props (some optimizers and protobuf round-trips with old schemas do).",
    )
  }
  const candidates: string[] = []
  const seen = new Set<string>()
  for (const path of view.modulePaths) {
    if (path === undefined || !path.endsWith(".to_q")) continue
    const module = path.slice(0, -".to_q".length)
    if (!seen.has(module)) {
      seen.add(module)
      candidates.push(module)
    }
  }
  const attention: AttentionModule[] = []
  for (const path of candidates) {
    const toQ = linear(view, `${path}.to_q`)
    const toK = linear(view, `${path}.to_k`)
    const toV = linear(view, `${path}.to_v`)
    const toOut = linear(view, `${path}.to_out.0`)
    if (toQ === undefined || toK === undefined || toV === undefined || toOut === undefined) continue
    attention.push({
      path,
      kind: toK.input === toQ.input ? "self" : "cross",
      normedInput: toQ.input,
      toQ,
      toK,
      toV,
      toOut,
      core: toOut.input,
      block: enclosingBlock(path),
      elemType: elemTypeOf(view, toV.output, toV.weight),
    })
  }
  const blockPaths = [...new Set(attention.map((a) => a.block).filter((b): b is string => b !== undefined))]
  const blocks = blockPaths.map((path): TransformerBlock => {
    const { inputs, outputs } = view.boundary(view.nodesWithin(path))
    const norm1 = view.nodesWithin(`${path}.norm1`)[0]
    const normInput = norm1 === undefined ? undefined : view.node(norm1).inputs[0]
    const hiddenInput = normInput !== undefined && inputs.includes(normInput) ? normInput : inputs[0] ?? ""
    return { path, hiddenInput, hiddenOutput: outputs[outputs.length - 1] ?? "", inputs, outputs }
  })
  return {
    source: view.source,
    attention,
    selfAttention: attention.filter((a) => a.kind === "self"),
    crossAttention: attention.filter((a) => a.kind === "cross"),
    jointAttention: [],
    blocks,
    feedForward: [],
  }
}
