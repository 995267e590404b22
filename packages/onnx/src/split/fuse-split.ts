// The two graphs of a split as ONE graph: the prefix runs on the distinct rows, each per-row crossing tensor and
// per-row model input is expanded to every row in-graph (Gather over a row-index input), then the suffix runs.
// One onnxruntime session then holds one copy of the weights and one memory arena.
import { HookError } from "../errors.js"
import { int64Initializer, intAttribute, makeNode } from "../proto/build.js"
import { makeTensorValueInfo } from "../proto/tensor-type.js"
import type { ModelProto, NodeProto } from "../proto/types.js"
import type { SplitGraphs } from "./split-at-layers.js"

/** Name of the row-index input of a fused split: int64 `[rows]`, the distinct row each row takes its prefix from. */
export const SPLIT_ROW_INDEX_INPUT = "pagkit_split_row_index"

/** Options of {@link fuseSplit}. */
export interface FuseSplitOptions {
  /** Model inputs fed per row (first axis = batch); they are fed at the distinct rows only. */
  readonly perRowInputs: readonly string[]
  /** Gate inputs (`pag_gates`): fed for every row. */
  readonly gateInputs: readonly string[]
}

/**
 * Fuses a split into one graph. Inputs: the model's inputs, where per-row ones (except gate inputs, fed for every
 * row) hold the **distinct** rows only, plus {@link SPLIT_ROW_INDEX_INPUT}. A per-row crossing tensor `[k·d, …]`
 * (batch outermost) becomes `[k·rows, …]` through `Reshape [d, −1] → Gather(rows) → Reshape [−1, …]`.
 *
 * @example
 * const fused = fuseSplit(split, { perRowInputs: ["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids"], gateInputs: ["pag_gates"] })
 * // feeds: distinct rows of each per-row input, pag_gates for all rows, pagkit_split_row_index = [0, 1, 1]
 */
export function fuseSplit(split: SplitGraphs, options: FuseSplitOptions): ModelProto {
  const perRow = new Set(options.perRowInputs)
  const gateInputs = new Set(options.gateInputs)
  if (split.prefixInputs.some((n) => gateInputs.has(n))) {
    throw new HookError("cannot fuse this split: its prefix reads a gate input (a hook whose zero gate could not be removed). Use the two-session split.")
  }
  const anchor = split.prefixInputs.find((n) => perRow.has(n))
  if (anchor === undefined) throw new HookError("cannot fuse this split: no per-row model input reaches the prefix.")
  const prefix = split.prefix.graph
  const suffix = split.suffix.graph
  const nodes: NodeProto[] = [...prefix.nodes]
  const base = "/pagkit/split"
  const add = (opType: string, inputs: string[], output: string, attributes: Uint8Array[] = []): string => {
    nodes.push(makeNode({ opType, name: `${base}/${output}`, inputs, outputs: [output], attributes }))
    return output
  }
  // d = number of distinct rows (first axis of a per-row prefix input), as int64 [1]
  const shapeAnchor = add("Shape", [anchor], `${base}/anchor_shape`)
  const zero = `${base}/zero`
  const one = `${base}/one`
  const minusOne = `${base}/minus_one`
  const initializers = [...prefix.initializers]
  const seen = new Set(initializers.map((i) => i.name))
  for (const init of suffix.initializers) if (!seen.has(init.name)) initializers.push(init)
  initializers.push(int64Initializer(zero, [0]), int64Initializer(one, [1]), int64Initializer(minusOne, [-1]))
  const distinct = add("Slice", [shapeAnchor, zero, one], `${base}/distinct`)
  const flatShape = add("Concat", [distinct, minusOne], `${base}/flat_shape`, [intAttribute("axis", 0)])
  const rename = new Map<string, string>()
  for (const c of split.crossing) {
    if (!c.dependsOn.some((n) => perRow.has(n))) continue
    const flat = add("Reshape", [c.name, flatShape], `${c.name}__flat`)
    const gathered = add("Gather", [flat, SPLIT_ROW_INDEX_INPUT], `${c.name}__rows`, [intAttribute("axis", 0)])
    const shape = add("Shape", [c.name], `${c.name}__shape`)
    const tail = add("Slice", [shape, one, `${base}/int64_max`], `${c.name}__tail`)
    const target = add("Concat", [minusOne, tail], `${c.name}__target`, [intAttribute("axis", 0)])
    rename.set(c.name, add("Reshape", [gathered, target], `${c.name}__all`))
  }
  initializers.push(int64Initializer(`${base}/int64_max`, [Number.MAX_SAFE_INTEGER]))
  for (const name of split.suffixInputs) {
    if (!perRow.has(name) || gateInputs.has(name)) continue
    rename.set(name, add("Gather", [name, SPLIT_ROW_INDEX_INPUT], `${name}__all`, [intAttribute("axis", 0)]))
  }
  // suffix nodes: read the expanded tensors; replicated nodes get their own output names
  const produced = new Set(prefix.nodes.flatMap((n) => n.outputs))
  for (const node of suffix.nodes) {
    for (const out of node.outputs) if (produced.has(out)) rename.set(out, `${out}__suffix`)
  }
  const prefixNames = new Set(prefix.nodes.map((n) => n.name))
  for (const node of suffix.nodes) {
    nodes.push({
      ...node,
      name: node.name !== "" && prefixNames.has(node.name) ? `${node.name}__suffix` : node.name,
      inputs: node.inputs.map((i) => rename.get(i) ?? i),
      outputs: node.outputs.map((o) => rename.get(o) ?? o),
    })
  }
  const inputNames = new Set<string>()
  const inputs = [...prefix.inputs, ...suffix.inputs].filter((v) => {
    if (split.crossing.some((c) => c.name === v.name) || inputNames.has(v.name)) return false
    inputNames.add(v.name)
    return true
  })
  inputs.push(makeTensorValueInfo(SPLIT_ROW_INDEX_INPUT, 7, ["rows"]))
  return {
    ...split.suffix,
    graph: { ...suffix, name: `${suffix.name}_fused`, nodes, inputs, initializers, valueInfo: [] },
  }
}
