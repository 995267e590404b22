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

/** An attention module (`…attn1`, `…attn2`, `…attn`) and the tensors a hook cuts at. */
export interface AttentionModule {
  /** Module path, e.g. `mid_block.attentions.0.transformer_blocks.1.attn1`. */
  readonly path: string
  /**
   * `self` when keys and values come from the same tensor as queries, `cross` when they come from another tensor,
   * `joint` for SD3/Flux-style attention over image and text tokens together (the module has `add_q_proj`,
   * `add_k_proj`, `add_v_proj` or `to_add_out`: keys/values are a concatenation of both streams).
   */
  readonly kind: "self" | "cross" | "joint"
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
  /**
   * The module's output (what its caller receives: `to_out` and anything after it inside the module, such as the
   * `rescale_output_factor` division). Absent in indexes cached by older versions.
   */
  readonly output?: string
  /** Joint attention only: the text-stream projections (`add_q_proj`, `add_k_proj`, `add_v_proj`, `to_add_out`), where present. */
  readonly addQ?: LinearProjection
  readonly addK?: LinearProjection
  readonly addV?: LinearProjection
  readonly toAddOut?: LinearProjection
}

/**
 * An attention module without an output projection (`to_out`), e.g. in Flux's single-stream blocks, where the
 * block's `proj_out` projects attention and MLP together. Indexed with what is known; identity attention and the
 * attention-skip hooks cannot act on it (they cut before `to_out`), query hooks can.
 */
export interface UnprojectedAttention {
  readonly path: string
  /** As {@link AttentionModule.kind}. */
  readonly kind: "self" | "cross" | "joint"
  readonly normedInput: string
  readonly toQ: LinearProjection
  readonly toK: LinearProjection
  readonly toV: LinearProjection
  /** The module's output: the attention result with heads merged. `[batch, tokens, channels]`. */
  readonly output: string
  readonly block: string | undefined
  readonly elemType: DataTypeCode
}

/**
 * A transformer block (`…transformer_blocks.N`, `single_transformer_blocks.N`) and the tensors crossing its boundary
 * (for skip-layer hooks: "skip this block" is `hiddenOutput := hiddenInput`, and for dual-stream blocks also
 * `encoderOutput := encoderInput`).
 */
export interface TransformerBlock {
  readonly path: string
  /** The hidden states entering the block (what its `norm1`/`norm` normalises). `[batch, tokens, channels]`. */
  readonly hiddenInput: string
  /**
   * The hidden states leaving the block: the output whose residual chain (`Add`s) starts at `hiddenInput`, else the
   * block's last output in graph order.
   */
  readonly hiddenOutput: string
  /** Dual-stream (SD3/Flux joint) blocks only: the text stream entering the block (what `norm1_context` normalises). */
  readonly encoderInput?: string
  /** Dual-stream blocks only: the text stream leaving the block (absent when the block drops it: SD3's last block). */
  readonly encoderOutput?: string
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
  /** Path of the enclosing transformer block (absent in older caches). */
  readonly block?: string
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
  /**
   * SD3/Flux-style attention over text and image tokens together (`kind: "joint"`; not in {@link attention}).
   * Absent in indexes cached by older versions.
   */
  readonly jointAttention?: readonly AttentionModule[]
  /** Attention modules without `to_out` (Flux single blocks), not in {@link attention}. Absent in older caches. */
  readonly unprojectedAttention?: readonly UnprojectedAttention[]
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

/** Paths of transformer blocks: UNet/DiT `transformer_blocks.N`, Flux `single_transformer_blocks.N`. */
const BLOCK = /(?:^|\.)(?:single_)?transformer_blocks\.\d+$/

function enclosingBlock(path: string): string | undefined {
  const parts = path.split(".")
  for (let n = parts.length - 1; n > 0; n--) {
    const candidate = parts.slice(0, n).join(".")
    if (BLOCK.test(candidate)) return candidate
  }
  return undefined
}

/** Ops whose data input 0 is the tensor a norm module normalises (LayerNorm, its opset < 17 decomposition, RMSNorm). */
const NORM_OPS = new Set(["LayerNormalization", "ReduceMean", "GroupNormalization", "InstanceNormalization", "SimplifiedLayerNormalization", "RMSNormalization", "Pow"])

/** Ops that only read a tensor's shape: data does not flow through them. */
const SHAPE_OPS = new Set(["Shape", "Size"])

/** The block input normalised by a norm module (e.g. `norm1`'s LayerNormalization input), if any. */
function normalisedInput(view: GraphView, module: string, blockInputs: readonly string[]): string | undefined {
  for (const i of view.nodesWithin(module)) {
    const node = view.node(i)
    const x = node.inputs[0]
    if (NORM_OPS.has(node.opType) && x !== undefined && blockInputs.includes(x)) return x
  }
  return undefined
}

/** The block input a tensor's residual chain starts at: walks `Add` nodes inside the block back to a block input. */
function residualRoot(view: GraphView, tensor: string, inside: ReadonlySet<number>, inputs: readonly string[]): string | undefined {
  const queue = [tensor]
  const seen = new Set<string>()
  while (queue.length > 0) {
    const t = queue.shift()!
    if (seen.has(t)) continue
    seen.add(t)
    if (inputs.includes(t)) return t
    const p = view.producer.get(t)
    if (p === undefined || !inside.has(p) || view.node(p).opType !== "Add") continue
    for (const input of view.node(p).inputs) if (input !== "" && !view.isConstant(input)) queue.push(input)
  }
  return undefined
}

/** Boundary outputs of `nodes` that data from `start` flows into (not through shape reads), in graph order. */
function outputsFedBy(view: GraphView, start: string, nodes: readonly number[], outputs: readonly string[]): string[] {
  const reached = new Set([start])
  for (const i of nodes) {
    const node = view.node(i)
    if (SHAPE_OPS.has(node.opType)) continue
    if (node.inputs.some((input) => reached.has(input))) for (const o of node.outputs) reached.add(o)
  }
  return outputs.filter((o) => reached.has(o))
}

function projections(view: GraphView, path: string) {
  return {
    toQ: linear(view, `${path}.to_q`),
    toK: linear(view, `${path}.to_k`),
    toV: linear(view, `${path}.to_v`),
    toOut: linear(view, `${path}.to_out.0`),
    addQ: linear(view, `${path}.add_q_proj`),
    addK: linear(view, `${path}.add_k_proj`),
    addV: linear(view, `${path}.add_v_proj`),
    toAddOut: linear(view, `${path}.to_add_out`),
  }
}

function findBlock(view: GraphView, path: string): TransformerBlock {
  const nodes = view.nodesWithin(path)
  const inside = new Set(nodes)
  const { inputs, outputs } = view.boundary(nodes)
  const hiddenInput = normalisedInput(view, `${path}.norm1`, inputs) ?? normalisedInput(view, `${path}.norm`, inputs) ?? inputs[0] ?? ""
  const encoderInput = normalisedInput(view, `${path}.norm1_context`, inputs)
  const rootedAt = (input: string) => outputs.filter((o) => residualRoot(view, o, inside, inputs) === input)
  const hiddenOutput = rootedAt(hiddenInput).at(-1) ?? outputs[outputs.length - 1] ?? ""
  const encoderOutput = encoderInput === undefined ? undefined : rootedAt(encoderInput).at(-1)
  return {
    path,
    hiddenInput,
    hiddenOutput,
    ...(encoderInput === undefined ? {} : { encoderInput }),
    ...(encoderOutput === undefined ? {} : { encoderOutput }),
    inputs,
    outputs,
  }
}

function findFeedForward(view: GraphView, block: string): FeedForwardModule[] {
  const found: FeedForwardModule[] = []
  for (const name of ["ff", "ff_context"]) {
    const path = `${block}.${name}`
    const nodes = view.nodesWithin(path)
    if (nodes.length === 0) continue
    const { inputs, outputs } = view.boundary(nodes)
    const input = inputs[0]
    const output = input === undefined ? undefined : outputsFedBy(view, input, nodes, outputs).at(-1)
    if (input === undefined || output === undefined) {
      throw new LayerIndexError(
        `feed-forward module "${path}" has ${inputs.length} input(s) and ${outputs.length} output(s) in this graph; expected hidden states in and out. The export may have merged it with its neighbours: re-export without graph optimisations.`,
      )
    }
    found.push({ path, input, output, block })
  }
  return found
}

/**
 * Builds the layer index of a decoded model: attention modules found through their `to_q`, `to_k`, `to_v`
 * (and `to_out.0`) projections — self, cross or joint (SD3/Flux: `add_*_proj`/`to_add_out`) — modules without
 * `to_out` (Flux single blocks) apart, the transformer blocks around them and their feed-forward modules.
 *
 * @example
 * const index = buildLayerIndex(decodeModel(bytes))
 * index.selfAttention.map((m) => m.path) // ["down_blocks.1.attentions.0.transformer_blocks.0.attn1", …]
 * layerSites(index, "block")             // ["down_blocks.1.attentions.0.transformer_blocks.0", …]
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
  const joint: AttentionModule[] = []
  const unprojected: UnprojectedAttention[] = []
  for (const path of candidates) {
    const { toQ, toK, toV, toOut, addQ, addK, addV, toAddOut } = projections(view, path)
    if (toQ === undefined || toK === undefined || toV === undefined) {
      const missing = [toQ === undefined ? "to_q" : "", toK === undefined ? "to_k" : "", toV === undefined ? "to_v" : ""].filter((m) => m !== "")
      throw new LayerIndexError(
        `attention module "${path}" has a to_q projection but no ${missing.join("/")} MatMul in this graph; expected diffusers' Attention layout (to_q, to_k, to_v, optionally to_out.0). ` +
          "Re-export without fusing its projections (e.g. without fuse_qkv_projections()).",
      )
    }
    const isJoint = addQ !== undefined || addK !== undefined || addV !== undefined || toAddOut !== undefined
    const kind = isJoint ? "joint" : toK.input === toQ.input ? "self" : "cross"
    const nodes = view.nodesWithin(path)
    const { outputs } = view.boundary(nodes)
    const elemType = elemTypeOf(view, toV.output, toV.weight)
    const block = enclosingBlock(path)
    if (toOut === undefined) {
      const output = outputsFedBy(view, toV.output, nodes, outputs).at(-1)
      if (output === undefined) {
        throw new LayerIndexError(`attention module "${path}" has no to_out projection and no output fed by its values; the graph does not look like diffusers' Attention. Re-export the model unoptimised.`)
      }
      unprojected.push({ path, kind, normedInput: toQ.input, toQ, toK, toV, output, block, elemType })
      continue
    }
    const output = outputs.includes(toOut.output) ? toOut.output : outputsFedBy(view, toOut.output, nodes, outputs)[0]
    const module: AttentionModule = {
      path,
      kind,
      normedInput: toQ.input,
      toQ,
      toK,
      toV,
      toOut,
      core: toOut.input,
      block,
      elemType,
      ...(output === undefined ? {} : { output }),
      ...(addQ === undefined ? {} : { addQ }),
      ...(addK === undefined ? {} : { addK }),
      ...(addV === undefined ? {} : { addV }),
      ...(toAddOut === undefined ? {} : { toAddOut }),
    }
    if (isJoint) joint.push(module)
    else attention.push(module)
  }
  const blockPaths = [...new Set([...attention, ...joint, ...unprojected].map((a) => a.block).filter((b): b is string => b !== undefined))]
  // graph order of first appearance (joint and unprojected modules were collected apart)
  const firstNode = (p: string) => view.nodesWithin(p)[0] ?? 0
  blockPaths.sort((a, b) => firstNode(a) - firstNode(b))
  const blocks = blockPaths.map((path) => findBlock(view, path))
  return {
    source: view.source,
    attention,
    selfAttention: attention.filter((a) => a.kind === "self"),
    crossAttention: attention.filter((a) => a.kind === "cross"),
    jointAttention: joint,
    unprojectedAttention: unprojected,
    blocks,
    feedForward: blockPaths.flatMap((b) => findFeedForward(view, b)),
  }
}
