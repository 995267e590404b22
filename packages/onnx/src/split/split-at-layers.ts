// Splits a hooked graph where a set of perturbed layers starts to act: a prefix that every row computes alike
// (so rows with equal inputs can share it) and a suffix that takes the tensors crossing the cut.
import { HookError } from "../errors.js"
import type { InstalledHook } from "../hooks/hook-kind.js"
import { F } from "../proto/types.js"
import type { DataTypeCode, GraphProto, InitializerProto, ModelProto, NodeProto, ValueInfoProto } from "../proto/types.js"
import { ProtoWriter } from "../proto/wire.js"
import { bypassZeroGate, gateReads, perturbedKeys } from "./gate-sites.js"
import { tensorFacts } from "./tensor-facts.js"

/** Options of {@link splitAtLayers}. */
export interface SplitAtLayersOptions {
  /** The hooks installed on the graph (`HookedModel.hooks`). */
  readonly hooks: readonly InstalledHook[]
  /**
   * Perturbed layers by gated hook kind, e.g. `{ "identity-attention": ["mid_block.attentions.0.transformer_blocks.0.attn1"] }`.
   * Every other column of every gate input is taken to be 0 in every row.
   */
  readonly layers: Readonly<Record<string, readonly string[]>>
}

/** A tensor computed by the prefix and read by the suffix. */
export interface CrossingTensor {
  readonly name: string
  /** `TensorProto.DataType` of the tensor. */
  readonly elemType: DataTypeCode
  /** Model inputs it depends on: it is per row when one of them is fed per row. */
  readonly dependsOn: readonly string[]
}

/** Sizes of a split, for reports. */
export interface SplitStats {
  /** Live nodes of the hooked graph (after removing hooks whose gates are 0 in every row). */
  readonly nodes: number
  readonly prefixNodes: number
  readonly suffixNodes: number
  /** Suffix nodes that the prefix computes too (shape computations and constants, recomputed for the suffix's batch). */
  readonly replicatedNodes: number
  /** Hooks of layers that are not perturbed, removed from both graphs (their gates are 0 in every row). */
  readonly bypassedHooks: number
  /** Share of MatMul/Gemm/Conv/Einsum nodes in the prefix (a rough size; measure time for a cost model). */
  readonly prefixMatMulShare: number
}

/** The two graphs of a split and what flows between them. */
export interface SplitGraphs {
  /** Perturbed layers by kind, sorted (the split's identity). */
  readonly layers: Readonly<Record<string, readonly string[]>>
  /** Inputs: the model inputs it reads (gate inputs only when a gate it keeps is unrecognised). Outputs: {@link crossing}. */
  readonly prefix: ModelProto
  /** Inputs: {@link crossing} tensors, then the model inputs it reads. Outputs: the model's outputs. */
  readonly suffix: ModelProto
  readonly crossing: readonly CrossingTensor[]
  /** Model inputs read by the prefix, in model order. */
  readonly prefixInputs: readonly string[]
  /** Model inputs read by the suffix, in model order. */
  readonly suffixInputs: readonly string[]
  readonly stats: SplitStats
}

/**
 * A value info with an element type and, when `dims` is given, a shape (numbers fixed, strings symbolic,
 * `undefined` or `""` unknown); without `dims` the rank is unknown.
 */
export function crossingValueInfo(name: string, elemType: DataTypeCode, dims?: readonly (number | string | undefined)[]): ValueInfoProto {
  const type = new ProtoWriter()
    .message(F.type.tensorType, (t) => {
      t.varint(F.tensorType.elemType, elemType)
      if (dims === undefined) return
      t.message(F.tensorType.shape, (shape) => {
        for (const dim of dims) {
          shape.message(F.shape.dim, (d) => {
            if (typeof dim === "number" && dim >= 0) d.varint(F.dim.value, dim)
            else if (typeof dim === "string" && dim !== "") d.string(F.dim.param, dim)
          })
        }
      })
    })
    .finish()
  return { name, type, rest: [] }
}

function copyNode(node: NodeProto): NodeProto {
  return { ...node, inputs: [...node.inputs], outputs: [...node.outputs] }
}

const COMPUTE_OPS = new Set(["MatMul", "Gemm", "Conv", "Einsum", "ConvTranspose"])

/** Nodes needed to compute `roots` from `nodes` (indices in ascending order). */
function liveNodes(nodes: readonly NodeProto[], roots: Iterable<string>, allowed?: ReadonlySet<number>): Set<number> {
  const producer = new Map<string, number>()
  nodes.forEach((n, i) => {
    if (allowed === undefined || allowed.has(i)) for (const o of n.outputs) if (o !== "") producer.set(o, i)
  })
  const live = new Set<number>()
  const stack = [...roots]
  while (stack.length > 0) {
    const p = producer.get(stack.pop()!)
    if (p === undefined || live.has(p)) continue
    live.add(p)
    for (const input of nodes[p]!.inputs) if (input !== "") stack.push(input)
  }
  return live
}

/**
 * Splits a hooked graph for a set of perturbed layers. The prefix is every node that no perturbed layer's gate
 * reaches (so a perturbed row computes it exactly like the plain row with the same inputs); the suffix is the rest,
 * plus copies of the shape computations and constants it needs (values that may hold the batch size must be
 * recomputed for the suffix's batch). Tensors crossing the cut (skip connections, time embeddings, cross-attention
 * keys of later layers, …) are the prefix's outputs and the suffix's first inputs.
 *
 * Hooks of layers that are not perturbed are removed from both graphs when they have the gated shape
 * `base + gate·delta` (their gates are 0 in every row a split serves), so the split graphs also skip the
 * hooked graph's gate-0 arithmetic. Initializers are shared by reference (`InitializerProto.bytes` views;
 * external-data initializers keep pointing at their file). The input model is not modified.
 *
 * @example
 * const model = decodeModel(bytes); const index = buildLayerIndex(model)
 * const hooks = installHooks(model, index, [identityAttention()])
 * const split = splitAtLayers(model, { hooks, layers: { "identity-attention": ["mid_block.attentions.0.transformer_blocks.0.attn1"] } })
 * split.crossing.length // tensors handed from prefix to suffix
 */
export function splitAtLayers(model: ModelProto, options: SplitAtLayersOptions): SplitGraphs {
  const graph = model.graph
  const controlFlow = graph.nodes.find((n) => ["If", "Loop", "Scan"].includes(n.opType))
  if (controlFlow !== undefined) {
    throw new HookError(
      `cannot split graph "${graph.name}": node "${controlFlow.name}" is a ${controlFlow.opType} whose subgraphs may read any tensor. Use execution "full" for this model.`,
    )
  }
  const perturbed = perturbedKeys(options.hooks, options.layers)
  const nodes = graph.nodes.map(copyNode)
  const initializers = new Map<string, InitializerProto>(graph.initializers.map((i) => [i.name, i]))
  // 1. gate reads: perturbed ones are sites; the others are removed where the pattern allows
  const reads = gateReads(nodes, options.hooks, initializers)
  const consumers = new Map<string, NodeProto[]>()
  for (const n of nodes) {
    for (const i of n.inputs) {
      const list = consumers.get(i)
      if (list === undefined) consumers.set(i, [n])
      else list.push(n)
    }
  }
  const siteNodes = new Set<NodeProto>()
  let bypassedHooks = 0
  for (const read of reads) {
    if (read.layer === undefined || perturbed.has(`${read.kind}\u0000${read.layer}`)) siteNodes.add(read.node)
    else if (bypassZeroGate(read, nodes, consumers)) bypassedHooks++
  }
  // 2. dead nodes out (the bypassed hooks), then everything downstream of a site
  const outputs = graph.outputs.map((o) => o.name)
  const liveIndex = liveNodes(nodes, outputs)
  const live = nodes.filter((_, i) => liveIndex.has(i))
  const downstream = new Set<number>()
  const produced = new Set<string>()
  live.forEach((node, i) => {
    if (siteNodes.has(node) || node.inputs.some((t) => produced.has(t))) {
      downstream.add(i)
      for (const o of node.outputs) if (o !== "") produced.add(o)
    }
  })
  if (downstream.size === 0) {
    throw new HookError(
      `no node of the graph reads the gates of the perturbed layers ${[...perturbed].map((k) => k.replace("\u0000", ":")).join(", ")}; the graph's hooks do not match its installed hooks.`,
    )
  }
  // 3. suffix = downstream nodes + copies of the constant/shape-derived nodes they need; the rest crosses
  const facts = tensorFacts(graph, live)
  const producer = new Map<string, number>()
  live.forEach((n, i) => n.outputs.forEach((o) => o !== "" && producer.set(o, i)))
  const graphInputs = new Set(graph.inputs.map((v) => v.name))
  const suffix = new Set(downstream)
  const crossing = new Set<string>()
  const suffixReads = new Set<string>()
  const work = [...downstream]
  const need = (tensor: string): void => {
    if (tensor === "" || graphInputs.has(tensor) || initializers.has(tensor)) {
      suffixReads.add(tensor)
      return
    }
    const p = producer.get(tensor)
    if (p === undefined || suffix.has(p)) return
    if (facts.constant.has(tensor) || facts.shapeDerived.has(tensor)) {
      suffix.add(p)
      work.push(p)
    } else crossing.add(tensor)
  }
  for (const o of outputs) {
    need(o)
    if (crossing.has(o) || graphInputs.has(o)) {
      throw new HookError(`cannot split: model output "${o}" does not depend on the perturbed layers, so the suffix cannot produce it. Use execution "full" for this model.`)
    }
  }
  while (work.length > 0) for (const input of live[work.pop()!]!.inputs) need(input)
  // 4. prefix = what the crossing tensors need, outside the downstream set
  const notDownstream = new Set(live.map((_, i) => i).filter((i) => !downstream.has(i)))
  const prefix = liveNodes(live, crossing, notDownstream)
  const ordered = (set: ReadonlySet<number>): NodeProto[] => live.filter((_, i) => set.has(i))
  const prefixNodes = ordered(prefix)
  const suffixNodes = ordered(suffix)
  const crossingList = live.flatMap((n) => n.outputs).filter((o) => crossing.has(o))
  if (crossingList.length === 0) {
    throw new HookError(
      `cannot split at ${[...perturbed].map((k) => k.replace("\u0000", ":")).join(", ")}: every computation of the graph depends on these layers' gates, so there is no prefix to share. Use execution "full" for these layers.`,
    )
  }
  const reads_ = (list: readonly NodeProto[]): Set<string> => new Set(list.flatMap((n) => n.inputs))
  const prefixRead = reads_(prefixNodes)
  const suffixRead = reads_(suffixNodes)
  for (const o of outputs) suffixRead.add(o)
  const prefixInputs = graph.inputs.filter((v) => prefixRead.has(v.name))
  const suffixInputs = graph.inputs.filter((v) => suffixRead.has(v.name))
  const inputNames = graph.inputs.map((v) => v.name)
  const crossingTensors = crossingList.map((name): CrossingTensor => {
    const deps = facts.inputDeps.get(name) ?? 0n
    const elemType = facts.elemType.get(name) ?? 0
    if (elemType === 0) {
      throw new HookError(`cannot split: the element type of crossing tensor "${name}" could not be inferred. Use execution "full" for this model.`)
    }
    return { name, elemType, dependsOn: inputNames.filter((_, i) => (deps >> BigInt(i)) & 1n) }
  })
  const subgraph = (name: string, list: NodeProto[], inputs: ValueInfoProto[], outs: ValueInfoProto[]): GraphProto => {
    const used = reads_(list)
    return {
      name,
      nodes: list,
      inputs,
      outputs: outs,
      valueInfo: [],
      initializers: graph.initializers.filter((i) => used.has(i.name) && !graphInputs.has(i.name)),
      rest: graph.rest,
    }
  }
  const crossingInfos = crossingTensors.map((c) => crossingValueInfo(c.name, c.elemType))
  const prefixGraph = subgraph(`${graph.name}_prefix`, prefixNodes, prefixInputs, crossingInfos)
  const suffixGraph = subgraph(`${graph.name}_suffix`, suffixNodes, [...crossingInfos, ...suffixInputs], graph.outputs)
  const computeNodes = live.filter((n) => COMPUTE_OPS.has(n.opType)).length
  const prefixCompute = prefixNodes.filter((n) => COMPUTE_OPS.has(n.opType)).length
  const sortedLayers = Object.fromEntries(
    Object.entries(options.layers)
      .filter(([, paths]) => paths.length > 0)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([kind, paths]) => [kind, [...new Set(paths)].sort()]),
  )
  return {
    layers: sortedLayers,
    prefix: { ...model, graph: prefixGraph },
    suffix: { ...model, graph: suffixGraph },
    crossing: crossingTensors,
    prefixInputs: prefixInputs.map((v) => v.name),
    suffixInputs: suffixInputs.map((v) => v.name),
    stats: {
      nodes: live.length,
      prefixNodes: prefixNodes.length,
      suffixNodes: suffixNodes.length,
      replicatedNodes: [...suffix].filter((i) => prefix.has(i)).length,
      bypassedHooks,
      prefixMatMulShare: computeNodes === 0 ? 0 : prefixCompute / computeNodes,
    },
  }
}
