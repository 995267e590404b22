// Reading and writing `TypeProto.Tensor` (element type + shape) of value infos.
import { F } from "./types.js"
import type { DataTypeCode, ValueInfoProto } from "./types.js"
import { ProtoWriter, WIRE_LEN, readFields, stringValue, varintValue } from "./wire.js"

/** Element type and dims (numbers, symbolic names, or `undefined` for unknown) of a tensor value. */
export interface TensorType {
  readonly elemType: DataTypeCode
  readonly dims: readonly (number | string | undefined)[] | undefined
}

/** The tensor type of a value info, or `undefined` when it is not a tensor or has no type. */
export function tensorTypeOf(info: ValueInfoProto): TensorType | undefined {
  if (info.type === undefined) return undefined
  for (const f of readFields(info.type, "TypeProto")) {
    if (f.no !== F.type.tensorType || f.wireType !== WIRE_LEN) continue
    let elemType = 0
    let dims: (number | string | undefined)[] | undefined
    for (const t of readFields(f.payload, "TypeProto.Tensor")) {
      if (t.no === F.tensorType.elemType) elemType = varintValue(t.payload)
      else if (t.no === F.tensorType.shape && t.wireType === WIRE_LEN) {
        dims = []
        for (const d of readFields(t.payload, "TensorShapeProto")) {
          if (d.no !== F.shape.dim || d.wireType !== WIRE_LEN) continue
          let dim: number | string | undefined
          for (const v of readFields(d.payload, "Dimension")) {
            if (v.no === F.dim.value) dim = varintValue(v.payload)
            else if (v.no === F.dim.param && v.wireType === WIRE_LEN) dim = stringValue(v.payload)
          }
          dims.push(dim)
        }
      }
    }
    return { elemType, dims }
  }
  return undefined
}

/** A value info for a tensor of the given element type and dims (numbers fixed, strings symbolic). */
export function makeTensorValueInfo(name: string, elemType: DataTypeCode, dims: readonly (number | string)[]): ValueInfoProto {
  const type = new ProtoWriter()
    .message(F.type.tensorType, (t) => {
      t.varint(F.tensorType.elemType, elemType)
      t.message(F.tensorType.shape, (s) => {
        for (const dim of dims) {
          s.message(F.shape.dim, (d) => (typeof dim === "number" ? d.varint(F.dim.value, dim) : d.string(F.dim.param, dim)))
        }
      })
    })
    .finish()
  return { name, type, rest: [] }
}
