// Row bookkeeping of a split run: which rows share inputs, gathering representatives, expanding crossing tensors.
import * as ort from "onnxruntime-node"
import { Tensor } from "@pagkit/tensor"
import { InputError } from "../errors.js"

type Elements = ArrayLike<number | bigint> & { subarray(begin: number, end: number): Elements }

/** True when rows `a` and `b` of a `[rows, …]` array hold the same values. */
function sameRow(data: ArrayLike<number | bigint>, perRow: number, a: number, b: number): boolean {
  const offA = a * perRow
  const offB = b * perRow
  for (let i = 0; i < perRow; i++) if (data[offA + i] !== data[offB + i]) return false
  return true
}

/**
 * Group of each row: rows whose per-row feeds are all equal share a group; groups are numbered in order of
 * first appearance (`[uncond, cond, perturbed]` with perturbed = cond gives `[0, 1, 1]`).
 *
 * @example
 * distinctRows({ sample }, new Set(["sample"]), 3) // [0, 1, 1]
 */
export function distinctRows(feeds: Readonly<Record<string, Tensor>>, perRow: ReadonlySet<string>, rows: number): number[] {
  const groups: number[] = []
  const first: number[] = [] // representative row of each group
  for (let r = 0; r < rows; r++) {
    const match = first.findIndex((rep) =>
      [...perRow].every((name) => {
        const t = feeds[name]!
        return sameRow(t.data as ArrayLike<number | bigint>, t.size / rows, rep, r)
      }),
    )
    if (match >= 0) groups.push(match)
    else {
      groups.push(first.length)
      first.push(r)
    }
  }
  return groups
}

/** Rows `rows` of a `[B, …]` tensor, in that order. */
export function gatherRows(tensor: Tensor, rows: readonly number[]): Tensor {
  const batch = tensor.shape[0]!
  const perRow = tensor.size / batch
  const data = tensor.data as unknown as Elements
  const Ctor = (tensor.data as unknown as { constructor: new (n: number) => Elements & { set(a: Elements, o: number): void } }).constructor
  const out = new Ctor(perRow * rows.length)
  rows.forEach((r, i) => out.set(data.subarray(r * perRow, (r + 1) * perRow), i * perRow))
  return new Tensor(tensor.dtype, out as never, [rows.length, ...tensor.shape.slice(1)])
}

/**
 * A crossing tensor computed on the distinct rows (`[k·distinct, …]`, batch outermost) expanded to every row:
 * row `r` gets the block of group `groups[r]`.
 */
export function expandRows(value: ort.Tensor, groups: readonly number[], distinct: number, name: string): ort.Tensor {
  const dim0 = value.dims[0]
  if (dim0 === undefined || dim0 % distinct !== 0) {
    throw new InputError(
      "ONNX_INPUT_INVALID",
      name,
      `split run: crossing tensor "${name}" has shape [${value.dims.join(", ")}], expected a first axis that is a multiple of the ${distinct} distinct rows (batch outermost). Use execution "full" for this model.`,
    )
  }
  if (groups.every((g, r) => g === r)) return value
  const data = value.data as unknown as Elements
  const block = data.length / distinct
  const Ctor = (value.data as unknown as { constructor: new (n: number) => Elements & { set(a: Elements, o: number): void } }).constructor
  const out = new Ctor(block * groups.length)
  groups.forEach((g, r) => out.set(data.subarray(g * block, (g + 1) * block), r * block))
  const dims = [(dim0 / distinct) * groups.length, ...value.dims.slice(1)]
  return new ort.Tensor(value.type, out as never, dims)
}

type TypedArrayCtor = new (n: number) => Elements & { set(a: Elements, o: number): void; copyWithin(t: number, s: number, e: number): unknown }

const CONSTRUCTORS: Readonly<Record<string, TypedArrayCtor>> = {
  float32: Float32Array as never,
  float16: Uint16Array as never,
  float64: Float64Array as never,
  int32: Int32Array as never,
  int64: BigInt64Array as never,
  uint8: Uint8Array as never,
  bool: Uint8Array as never,
}

/** Preallocated prefix outputs over all-row buffers, and how to fill the rows that share a group. */
export interface AllRowBuffers {
  /** Fetches for the prefix run: a view of the first `distinct` rows of each buffer (null: let onnxruntime allocate). */
  readonly fetches: Record<string, ort.Tensor | null>
  /** The all-row tensor of a per-row crossing tensor after copying group rows into the shared rows; undefined for others. */
  fill(name: string, groups: readonly number[]): ort.Tensor | undefined
}

/**
 * Buffers of `rows` rows for per-row crossing tensors whose distinct-row dims are `known`, so the prefix (run on the
 * first `distinct` rows, which must be the groups' representatives in order) writes into them directly.
 * Returns undefined when a tensor's element type has no typed array here.
 */
export function allRowBuffers(
  crossing: readonly { readonly name: string; readonly elemType: number }[],
  known: ReadonlyMap<string, readonly number[]>,
  distinct: number,
  rows: number,
): AllRowBuffers | undefined {
  const fetches: Record<string, ort.Tensor | null> = {}
  const all = new Map<string, { data: InstanceType<TypedArrayCtor>; type: ort.Tensor.Type; dims: number[]; block: number }>()
  for (const c of crossing) {
    const dims = known.get(c.name)
    const type = ELEM_TYPES[c.elemType]
    const Ctor = type === undefined ? undefined : CONSTRUCTORS[type]
    if (dims === undefined || type === undefined || Ctor === undefined || dims[0]! % distinct !== 0) return undefined
    const size = dims.reduce((a, b) => a * b, 1)
    const block = size / distinct
    const data = new Ctor(block * rows)
    fetches[c.name] = new ort.Tensor(type, data.subarray(0, size) as never, [...dims])
    all.set(c.name, { data, type, dims: [(dims[0]! / distinct) * rows, ...dims.slice(1)], block })
  }
  return {
    fetches,
    fill(name, groups) {
      const entry = all.get(name)
      if (entry === undefined) return undefined
      groups.forEach((g, r) => {
        if (r >= distinct) entry.data.copyWithin(r * entry.block, g * entry.block, (g + 1) * entry.block)
      })
      return new ort.Tensor(entry.type, entry.data as never, entry.dims)
    },
  }
}

/** onnxruntime tensor type names of `TensorProto.DataType` codes. */
const ELEM_TYPES: Readonly<Record<number, ort.Tensor.Type>> = {
  1: "float32",
  2: "uint8",
  6: "int32",
  7: "int64",
  9: "bool",
  10: "float16",
  11: "float64",
}
