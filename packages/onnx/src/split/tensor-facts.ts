// Per-tensor facts a split needs, from one forward pass over a topologically sorted graph: element type,
// whether a tensor is constant (weights only) or shape-derived (computed from Shape/Size results and constants,
// so its value may hold the batch size), and which graph inputs it depends on.
import { F } from "../proto/types.js"
import type { DataTypeCode, GraphProto, NodeProto } from "../proto/types.js"
import { tensorTypeOf } from "../proto/tensor-type.js"
import { WIRE_LEN, WIRE_VARINT, readFields, stringValue, varintValue } from "../proto/wire.js"
import { intAttributeOf } from "./gate-sites.js"

/** Facts about the tensors of one graph. */
export interface TensorFacts {
  /** Element type (`TensorProto.DataType`), 0 when unknown. */
  readonly elemType: Map<string, DataTypeCode>
  /** Tensors computed from initializers and constants only. */
  readonly constant: Set<string>
  /** Tensors computed from Shape/Size outputs (and constants) only: their values may hold the batch size. */
  readonly shapeDerived: Set<string>
  /** Bit `i` set when the tensor depends on graph input `i` (in `graph.inputs` order). */
  readonly inputDeps: Map<string, bigint>
}

const BOOL_OPS = new Set(["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf"])
const INT64_OPS = new Set(["Shape", "Size", "NonZero", "ArgMax", "ArgMin"])
const FLOAT = 1
const INT64 = 7
const BOOL = 9

/** Element type of a `Constant`/`ConstantOfShape` node's `value` tensor (or its value_* attribute). */
function constantType(node: NodeProto): DataTypeCode | undefined {
  for (const attribute of node.attributes) {
    let name = ""
    let tensorType: number | undefined
    for (const f of readFields(attribute, "AttributeProto")) {
      if (f.no === F.attribute.name && f.wireType === WIRE_LEN) name = stringValue(f.payload)
      else if (f.no === F.attribute.t && f.wireType === WIRE_LEN) {
        for (const t of readFields(f.payload, "TensorProto")) {
          if (t.no === F.tensor.dataType && t.wireType === WIRE_VARINT) tensorType = varintValue(t.payload)
        }
      }
    }
    if (name === "value" && tensorType !== undefined) return tensorType
    if (name === "value_float" || name === "value_floats") return FLOAT
    if (name === "value_int" || name === "value_ints") return INT64
  }
  return node.opType === "ConstantOfShape" ? FLOAT : undefined
}

function outputType(node: NodeProto, typeOf: (name: string) => DataTypeCode): DataTypeCode {
  const op = node.opType
  if (op === "Cast") return intAttributeOf(node, "to") ?? 0
  if (op === "CastLike") return typeOf(node.inputs[1] ?? "")
  if (op === "Constant" || op === "ConstantOfShape") return constantType(node) ?? 0
  if (INT64_OPS.has(op)) return INT64
  if (BOOL_OPS.has(op)) return BOOL
  if (op === "Where") return typeOf(node.inputs[1] ?? "")
  const first = node.inputs.find((i) => i !== "")
  return first === undefined ? 0 : typeOf(first)
}

/**
 * Computes {@link TensorFacts} for `nodes` (topologically sorted) of `graph`. Types come from graph inputs,
 * initializers and a small table of ops whose output type differs from their first input's (Cast, Shape,
 * comparisons, Where, Constant); enough for the activations that cross a split.
 */
export function tensorFacts(graph: GraphProto, nodes: readonly NodeProto[]): TensorFacts {
  const elemType = new Map<string, DataTypeCode>()
  const constant = new Set<string>()
  const shapeDerived = new Set<string>()
  const inputDeps = new Map<string, bigint>()
  const inputNames = new Set(graph.inputs.map((v) => v.name))
  graph.inputs.forEach((info, i) => {
    elemType.set(info.name, tensorTypeOf(info)?.elemType ?? 0)
    inputDeps.set(info.name, 1n << BigInt(i))
  })
  for (const init of graph.initializers) {
    if (!elemType.has(init.name)) elemType.set(init.name, init.dataType)
    if (!inputNames.has(init.name)) constant.add(init.name)
  }
  const typeOf = (name: string): DataTypeCode => elemType.get(name) ?? 0
  for (const node of nodes) {
    const inputs = node.inputs.filter((i) => i !== "")
    const variable = inputs.filter((i) => !constant.has(i))
    const isConstant = node.opType === "Constant" || (inputs.length > 0 && variable.length === 0)
    const isShape =
      !isConstant &&
      (node.opType === "Shape" || node.opType === "Size" || variable.every((i) => shapeDerived.has(i)))
    let deps = 0n
    for (const i of variable) deps |= inputDeps.get(i) ?? 0n
    const type = outputType(node, typeOf)
    node.outputs.forEach((output, k) => {
      if (output === "") return
      elemType.set(output, node.opType === "TopK" && k === 1 ? INT64 : type)
      if (isConstant) constant.add(output)
      else if (isShape) shapeDerived.add(output)
      inputDeps.set(output, deps)
    })
  }
  return { elemType, constant, shapeDerived, inputDeps }
}
