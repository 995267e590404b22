import { OnnxProtoError } from "../errors.js"
import { F } from "./types.js"
import type { GraphProto, InitializerProto, ModelProto, NodeProto, OpsetImport, StringEntry, ValueInfoProto } from "./types.js"
import { WIRE_LEN, WIRE_VARINT, readFields, stringValue, varintValue } from "./wire.js"
import type { RawField } from "./wire.js"

function expectLen(field: RawField, what: string): Uint8Array {
  if (field.wireType !== WIRE_LEN) {
    throw new OnnxProtoError(
      `malformed ${what}: field ${field.no} has wire type ${field.wireType}, expected length-delimited. The file is not an ONNX model or is corrupt.`,
    )
  }
  return field.payload
}

function decodeEntry(payload: Uint8Array): StringEntry {
  const entry: StringEntry = { key: "", value: "" }
  for (const f of readFields(payload, "StringStringEntryProto")) {
    if (f.no === F.entry.key) entry.key = stringValue(expectLen(f, "metadata key"))
    else if (f.no === F.entry.value) entry.value = stringValue(expectLen(f, "metadata value"))
  }
  return entry
}

function decodeNode(payload: Uint8Array): NodeProto {
  const node: NodeProto = { name: "", opType: "", domain: "", inputs: [], outputs: [], attributes: [], metadata: [], rest: [] }
  for (const f of readFields(payload, "NodeProto")) {
    switch (f.no) {
      case F.node.input: node.inputs.push(stringValue(expectLen(f, "node input"))); break
      case F.node.output: node.outputs.push(stringValue(expectLen(f, "node output"))); break
      case F.node.name: node.name = stringValue(expectLen(f, "node name")); break
      case F.node.opType: node.opType = stringValue(expectLen(f, "node op_type")); break
      case F.node.domain: node.domain = stringValue(expectLen(f, "node domain")); break
      case F.node.attribute: node.attributes.push(expectLen(f, "node attribute")); break
      case F.node.metadata: node.metadata.push(decodeEntry(expectLen(f, "node metadata_props"))); break
      default: node.rest.push(f)
    }
  }
  return node
}

function decodeValueInfo(payload: Uint8Array): ValueInfoProto {
  const info: ValueInfoProto = { name: "", type: undefined, rest: [] }
  for (const f of readFields(payload, "ValueInfoProto")) {
    if (f.no === F.valueInfo.name) info.name = stringValue(expectLen(f, "value_info name"))
    else if (f.no === F.valueInfo.type) info.type = expectLen(f, "value_info type")
    else info.rest.push(f)
  }
  return info
}

/** Reads an initializer's name, type, dims and data location from its encoded `TensorProto`; its data stays undecoded. */
export function decodeInitializer(payload: Uint8Array): InitializerProto {
  let name = ""
  let dataType = 0
  let external = false
  const dims: number[] = []
  for (const f of readFields(payload, "TensorProto")) {
    switch (f.no) {
      case F.tensor.name: name = stringValue(expectLen(f, "tensor name")); break
      case F.tensor.dataType: dataType = varintValue(f.payload); break
      case F.tensor.dataLocation: external = varintValue(f.payload) === 1; break
      case F.tensor.dims:
        if (f.wireType === WIRE_VARINT) dims.push(varintValue(f.payload))
        else for (const v of readPackedVarints(expectLen(f, "tensor dims"))) dims.push(v)
        break
      default:
    }
  }
  return Object.freeze({ name, dataType, dims: Object.freeze(dims), external, bytes: payload })
}

/** Values of a packed repeated varint field. */
export function readPackedVarints(payload: Uint8Array): number[] {
  const values: number[] = []
  let start = 0
  for (let i = 0; i < payload.length; i++) {
    if ((payload[i]! & 0x80) === 0) {
      values.push(varintValue(payload.subarray(start, i + 1)))
      start = i + 1
    }
  }
  return values
}

/** Decodes a `GraphProto` payload. */
export function decodeGraph(payload: Uint8Array): GraphProto {
  const graph: GraphProto = { name: "", nodes: [], inputs: [], outputs: [], valueInfo: [], initializers: [], rest: [] }
  for (const f of readFields(payload, "GraphProto")) {
    switch (f.no) {
      case F.graph.node: graph.nodes.push(decodeNode(expectLen(f, "graph node"))); break
      case F.graph.name: graph.name = stringValue(expectLen(f, "graph name")); break
      case F.graph.initializer: graph.initializers.push(decodeInitializer(expectLen(f, "initializer"))); break
      case F.graph.input: graph.inputs.push(decodeValueInfo(expectLen(f, "graph input"))); break
      case F.graph.output: graph.outputs.push(decodeValueInfo(expectLen(f, "graph output"))); break
      case F.graph.valueInfo: graph.valueInfo.push(decodeValueInfo(expectLen(f, "graph value_info"))); break
      default: graph.rest.push(f)
    }
  }
  return graph
}

function decodeOpset(payload: Uint8Array): OpsetImport {
  const opset: OpsetImport = { domain: "", version: 0 }
  for (const f of readFields(payload, "OperatorSetIdProto")) {
    if (f.no === F.opset.domain) {
      opset.domain = stringValue(expectLen(f, "opset domain"))
      if (opset.domain === "") opset.explicitDomain = true
    }
    else if (f.no === F.opset.version) opset.version = varintValue(f.payload)
  }
  return opset
}

/**
 * Decodes an ONNX `ModelProto`. Node, value-info and initializer structure is decoded; initializer data,
 * functions, metadata and unknown fields stay as views into `bytes` (keep `bytes` alive while editing).
 *
 * @example
 * const model = decodeModel(new Uint8Array(await readFile("unet/model.onnx")))
 * model.graph.nodes.length
 */
export function decodeModel(bytes: Uint8Array): ModelProto {
  let irVersion = 0
  let graph: GraphProto | undefined
  const opsetImports: OpsetImport[] = []
  const rest: RawField[] = []
  for (const f of readFields(bytes, "ModelProto")) {
    if (f.no === F.model.irVersion && f.wireType === WIRE_VARINT) irVersion = varintValue(f.payload)
    else if (f.no === F.model.graph) graph = decodeGraph(expectLen(f, "model graph"))
    else if (f.no === F.model.opsetImport) opsetImports.push(decodeOpset(expectLen(f, "opset_import")))
    else rest.push(f)
  }
  if (graph === undefined || irVersion === 0) {
    throw new OnnxProtoError(
      `the ${bytes.length}-byte buffer is not an ONNX model: expected a ModelProto with ir_version and graph, found ${graph === undefined ? "no graph" : "no ir_version"}. Pass the bytes of a .onnx file.`,
    )
  }
  return { irVersion, opsetImports, graph, rest }
}
