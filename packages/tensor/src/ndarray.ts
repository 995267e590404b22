// Interop with scijs `ndarray` (https://github.com/scijs/ndarray): toNdarray builds a real ndarray over the tensor's
// buffer; fromNdarray reads any `{ data, shape, stride, offset }` (a real ndarray or a look-alike): element
// (i0, i1, …) lives at `data[offset + i0 * stride[0] + i1 * stride[1] + …]`; strides may be negative or zero.
import ndarray from "ndarray"
import { ShapeError } from "./errors.js"
import type { DType, DataTypeMap, Shape, TensorData } from "./tensor.js"
import { Tensor, allocate, checkShape, contiguousStrides, shapeSize } from "./tensor.js"

/** The part of a scijs `ndarray` this module reads and writes. */
export interface NdarrayLike<T extends ArrayLike<number | bigint> = ArrayLike<number | bigint>> {
  readonly data: T
  readonly shape: readonly number[]
  readonly stride: readonly number[]
  readonly offset: number
}

/**
 * What {@link toNdarray} returns: a scijs `ndarray` (types from `@types/ndarray`) over the tensor's own buffer;
 * its `dtype` is scijs's name of the typed array (`"uint16"` for float16 bits, `"bigint64"` for int64).
 */
export type NdarrayView<T extends TensorData = TensorData> = ndarray.NdArray<T extends ndarray.Data ? T : ndarray.Data<bigint>>

/**
 * Wraps a tensor as a scijs `ndarray` sharing its buffer (no copy): `get`/`set`/`pick`/`transpose` and every
 * scijs module (`ndarray-ops`, `ndarray-fft`, …) work on it, and writes through it change the tensor.
 *
 * @example
 * ```ts
 * import ops from "ndarray-ops"
 * const view = toNdarray(latents) // ndarray: shape [1, 4, 8, 8], stride [256, 64, 8, 1], offset 0
 * ops.mulseq(view, 0.13025)       // scales the latents in place
 * ```
 */
export function toNdarray<D extends DType>(t: Tensor<D>): NdarrayView<DataTypeMap[D]> {
  // @types/ndarray types BigInt64Array over ArrayBuffer only; the runtime takes any typed array
  return ndarray(t.data as ndarray.Data, [...t.shape], contiguousStrides(t.shape), 0) as unknown as NdarrayView<DataTypeMap[D]>
}

/** What {@link fromNdarray} accepts: a scijs `ndarray` of any data (typed, plain or generic), or a look-alike. */
export type NdarrayInput = NdarrayLike | NdarrayView | ndarray.NdArray<ndarray.Data<number>> | ndarray.NdArray<ndarray.Data<bigint>>

/** Options of {@link fromNdarray}. */
export interface FromNdarrayOptions {
  /** Target dtype. Default: from the data's typed array; a `Uint16Array` needs `"float16"` said explicitly. */
  readonly dtype?: DType
}

function inferDType(data: ArrayLike<number | bigint>): DType | undefined {
  if (data instanceof Float32Array) return "float32"
  if (data instanceof Float64Array) return "float64"
  if (data instanceof Int32Array) return "int32"
  if (data instanceof BigInt64Array) return "int64"
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return "uint8"
  return undefined
}

/** True when the strides are row-major over `shape` (size-1 axes may have any stride). */
function isContiguous(shape: Shape, stride: readonly number[]): boolean {
  const expected = contiguousStrides(shape)
  return shape.every((d, i) => d <= 1 || stride[i] === expected[i])
}

/**
 * A tensor from a scijs `ndarray` (or any `{ data, shape, stride, offset }`). Contiguous data of a matching typed array is shared (no
 * copy, `subarray` for an offset); transposed, sliced or stepped views are gathered into a new buffer.
 * Other arrays (plain, Int16Array, …) are converted to float32 unless `dtype` says otherwise.
 *
 * @example
 * ```ts
 * import ndarray from "ndarray"
 * const t = fromNdarray(ndarray(new Float32Array(6), [2, 3])) // Tensor<"float32"> [2, 3], same buffer
 * const u = fromNdarray(ndarray(new Float32Array(6), [2, 3]).transpose(1, 0)) // [3, 2], gathered
 * ```
 */
export function fromNdarray(array: NdarrayInput, options: FromNdarrayOptions = {}): Tensor {
  const { shape, stride, offset } = array
  const data = arrayLikeData(array.data)
  if (stride.length !== shape.length) {
    throw new ShapeError(`fromNdarray: shape [${shape.join(", ")}] and stride [${stride.join(", ")}] have different lengths.`)
  }
  checkShape(shape, "fromNdarray shape")
  if (!stride.every(Number.isInteger)) {
    throw new ShapeError(`fromNdarray: stride [${stride.join(", ")}] must hold integers (element steps, may be negative).`)
  }
  const inferred = inferDType(data)
  if (inferred === undefined && data instanceof Uint16Array && options.dtype === undefined) {
    throw new ShapeError(
      'fromNdarray: Uint16Array data is ambiguous. Pass { dtype: "float16" } if it holds half-precision bits, or another dtype to convert.',
    )
  }
  const dtype = options.dtype ?? inferred ?? "float32"
  const size = shapeSize(shape)
  // bounds: the furthest elements reachable must lie inside data
  let low = offset
  let high = offset
  for (let i = 0; i < shape.length; i++) {
    const reach = (shape[i]! - 1) * stride[i]!
    if (shape[i] === 0) continue
    if (reach < 0) low += reach
    else high += reach
  }
  if (size > 0 && (low < 0 || high >= data.length || !Number.isInteger(offset))) {
    throw new ShapeError(
      `fromNdarray: shape [${shape.join(", ")}], stride [${stride.join(", ")}], offset ${offset} reach outside data of length ${data.length}.`,
    )
  }
  const sameArray = dtype === inferred || (dtype === "float16" && data instanceof Uint16Array)
  if (sameArray && !(data instanceof Uint8ClampedArray) && isContiguous(shape, stride)) {
    const typed = data as unknown as DataTypeMap[DType]
    const shared = offset === 0 && typed.length === size ? typed : typed.subarray(offset, offset + size)
    return new Tensor(dtype, shared as DataTypeMap[typeof dtype], shape)
  }
  return new Tensor(dtype, gather({ data, shape, stride, offset }, dtype, size), shape)
}

/** scijs "generic" ndarrays hold `{ get(i), set(i, v), length }` instead of an array: read it through `get`. */
function arrayLikeData(data: ArrayLike<number | bigint> | ndarray.GenericArray<number | bigint>): ArrayLike<number | bigint> {
  if (ArrayBuffer.isView(data) || Array.isArray(data) || typeof (data as { get?: unknown }).get !== "function") {
    return data as ArrayLike<number | bigint>
  }
  const generic = data as ndarray.GenericArray<number | bigint>
  return new Proxy({ length: generic.length } as ArrayLike<number | bigint>, {
    get: (target, key) => (typeof key === "string" && /^\d+$/.test(key) ? generic.get(Number(key)) : Reflect.get(target, key)),
  })
}

/** Copies a strided view into a contiguous buffer of `dtype`. */
function gather(array: NdarrayLike, dtype: DType, size: number): TensorData {
  const { data, shape, stride, offset } = array
  const out = allocate(dtype, size)
  const write = out as unknown as { [i: number]: number | bigint }
  const index = new Array<number>(shape.length).fill(0)
  let from = offset
  for (let i = 0; i < size; i++) {
    const value = data[from]!
    write[i] = dtype === "int64" ? (typeof value === "bigint" ? value : BigInt(Math.trunc(value))) : Number(value)
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      index[axis]!++
      from += stride[axis]!
      if (index[axis]! < shape[axis]!) break
      from -= stride[axis]! * shape[axis]!
      index[axis] = 0
    }
  }
  return out
}
