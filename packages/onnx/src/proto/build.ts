// Constructors for the messages hooks add: nodes, attributes, small initializers.
import { F } from "./types.js"
import type { DataTypeCode, InitializerProto, NodeProto } from "./types.js"
import { decodeInitializer } from "./decode.js"
import { ProtoWriter } from "./wire.js"

/** `AttributeProto.AttributeType` values used here. */
const ATTR_FLOAT = 1
const ATTR_INT = 2
const ATTR_INTS = 7

/** An encoded float attribute (`alpha`, `epsilon`, …). */
export function floatAttribute(name: string, value: number): Uint8Array {
  const bits = new Uint8Array(4)
  new DataView(bits.buffer).setFloat32(0, value, true)
  const w = new ProtoWriter().string(F.attribute.name, name)
  w.raw(Uint8Array.of(F.attribute.f * 8 + 5)).raw(bits) // fixed32
  return w.varint(F.attribute.type, ATTR_FLOAT).finish()
}

/** An encoded int attribute (`axis`, `to`, …). */
export function intAttribute(name: string, value: number): Uint8Array {
  return new ProtoWriter().string(F.attribute.name, name).varint(F.attribute.i, value).varint(F.attribute.type, ATTR_INT).finish()
}

/** An encoded ints attribute (`axes` before opset 13, `perm`, …). */
export function intsAttribute(name: string, values: readonly number[]): Uint8Array {
  const w = new ProtoWriter().string(F.attribute.name, name)
  for (const v of values) w.varint(F.attribute.ints, v)
  return w.varint(F.attribute.type, ATTR_INTS).finish()
}

/** A node of the default domain. */
export function makeNode(options: {
  readonly opType: string
  readonly name: string
  readonly inputs: readonly string[]
  readonly outputs: readonly string[]
  readonly attributes?: readonly Uint8Array[]
}): NodeProto {
  return {
    name: options.name,
    opType: options.opType,
    domain: "",
    inputs: [...options.inputs],
    outputs: [...options.outputs],
    attributes: [...(options.attributes ?? [])],
    metadata: [],
    rest: [],
  }
}

/** An initializer holding `raw` (little-endian element bytes) of the given type and dims. */
export function makeInitializer(name: string, dataType: DataTypeCode, dims: readonly number[], raw: Uint8Array): InitializerProto {
  const w = new ProtoWriter()
  for (const d of dims) w.varint(F.tensor.dims, d)
  w.varint(F.tensor.dataType, dataType).string(F.tensor.name, name).bytes(F.tensor.rawData, raw)
  return decodeInitializer(w.finish())
}

/** A float32 initializer. */
export function float32Initializer(name: string, values: Float32Array, dims: readonly number[] = [values.length]): InitializerProto {
  return makeInitializer(name, 1, dims, new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice())
}

/** An int64 initializer. */
export function int64Initializer(name: string, values: readonly number[], dims: readonly number[] = [values.length]): InitializerProto {
  const data = new BigInt64Array(values.map((v) => BigInt(v)))
  return makeInitializer(name, 7, dims, new Uint8Array(data.buffer))
}
