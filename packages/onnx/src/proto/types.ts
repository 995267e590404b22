// The parts of ONNX's ModelProto that graph editing needs, decoded; everything else kept as raw fields.
// Field numbers follow onnx/onnx.proto (ir_version 10 / opset 23 schema).
import type { RawField } from "./wire.js"

/** `TensorProto.DataType` values (onnx.proto). */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
} as const

/** A `TensorProto.DataType` number. */
export type DataTypeCode = number

/** A `StringStringEntryProto` (`metadata_props` entries). */
export interface StringEntry {
  key: string
  value: string
}

/** `OperatorSetIdProto`. */
export interface OpsetImport {
  domain: string
  version: number
  /** True when the file spelled out an empty domain (kept so unchanged models round-trip byte for byte). */
  explicitDomain?: boolean
}

/** A `NodeProto`: names, op, inputs/outputs and metadata decoded; attributes kept as encoded `AttributeProto`s. */
export interface NodeProto {
  name: string
  opType: string
  domain: string
  inputs: string[]
  outputs: string[]
  /** Encoded `AttributeProto` messages, in order (views into the source buffer or built ones). */
  attributes: Uint8Array[]
  /** `metadata_props`; dynamo exports keep `pkg.torch.onnx.name_scopes` here. */
  metadata: StringEntry[]
  /** Fields not decoded above (doc_string, overload, device configurations, unknown fields). */
  rest: RawField[]
}

/** A `ValueInfoProto`: the name decoded, the `TypeProto` kept encoded (see `tensorTypeOf`). */
export interface ValueInfoProto {
  name: string
  /** Encoded `TypeProto`, if present. */
  type: Uint8Array | undefined
  rest: RawField[]
}

/**
 * An initializer (`TensorProto`), read-only: name, element type, dims and whether its data is external.
 * `bytes` is the whole encoded message, written back verbatim — its data is never decoded.
 */
export interface InitializerProto {
  readonly name: string
  readonly dataType: DataTypeCode
  readonly dims: readonly number[]
  /** True when `data_location` is EXTERNAL (weights in a side file such as `model.onnx_data`). */
  readonly external: boolean
  readonly bytes: Uint8Array
}

/** A `GraphProto`. */
export interface GraphProto {
  name: string
  nodes: NodeProto[]
  inputs: ValueInfoProto[]
  outputs: ValueInfoProto[]
  valueInfo: ValueInfoProto[]
  initializers: InitializerProto[]
  /** Sparse initializers, doc string, quantization annotations, metadata, unknown fields. */
  rest: RawField[]
}

/** A `ModelProto`: the graph and opset imports decoded; everything else (functions, metadata, training info) raw. */
export interface ModelProto {
  irVersion: number
  opsetImports: OpsetImport[]
  graph: GraphProto
  rest: RawField[]
}

/** Field numbers used by the codec. */
export const F = {
  model: { irVersion: 1, graph: 7, opsetImport: 8 },
  opset: { domain: 1, version: 2 },
  graph: { node: 1, name: 2, initializer: 5, input: 11, output: 12, valueInfo: 13 },
  node: { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7, metadata: 9 },
  entry: { key: 1, value: 2 },
  valueInfo: { name: 1, type: 2 },
  tensor: { dims: 1, dataType: 2, rawData: 9, name: 8, externalData: 13, dataLocation: 14 },
  type: { tensorType: 1 },
  tensorType: { elemType: 1, shape: 2 },
  shape: { dim: 1 },
  dim: { value: 1, param: 2 },
  attribute: { name: 1, f: 2, i: 3, s: 4, t: 5, ints: 8, type: 20 },
} as const
