import { ShapeError } from "./errors.js"

/** Element types a {@link Tensor} can hold. `float16` is stored as IEEE half bit patterns in a `Uint16Array`. */
export type DType = "float32" | "float16" | "float64" | "int32" | "int64" | "uint8"

/** The typed array that backs each dtype. */
export interface DataTypeMap {
  float32: Float32Array
  float16: Uint16Array
  float64: Float64Array
  int32: Int32Array
  int64: BigInt64Array
  uint8: Uint8Array
}

/** Any typed array a tensor can be backed by. */
export type TensorData = DataTypeMap[DType]

/** Shapes are arrays of non-negative integers. */
export type Shape = readonly number[]

const constructors = {
  float32: Float32Array,
  float16: Uint16Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
} as const

/** Number of elements of a shape. */
export function shapeSize(shape: Shape): number {
  let n = 1
  for (const d of shape) n *= d
  return n
}

/** Throws a {@link ShapeError} unless every dimension is a non-negative integer. */
export function checkShape(shape: Shape, what = "shape"): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(
        `${what} [${shape.join(", ")}] is not valid: expected non-negative integer sizes, found ${d}. Pass whole numbers >= 0.`,
      )
    }
  }
}

/** Row-major (C-order) strides of a shape, in elements. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length)
  let s = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s
    s *= shape[i]!
  }
  return strides
}

/** Allocates a zero-filled typed array of a dtype. */
export function allocate<D extends DType>(dtype: D, size: number): DataTypeMap[D] {
  return new constructors[dtype](size) as DataTypeMap[D]
}

/**
 * A dense, row-major n-dimensional array: a typed array plus a dtype and a shape.
 * Tensors are treated as immutable values by the library; operations return new tensors.
 *
 * @example
 * const x = new Tensor("float32", new Float32Array([1, 2, 3, 4]), [2, 2])
 * x.shape // [2, 2]
 */
export class Tensor<D extends DType = DType> {
  readonly dtype: D
  readonly data: DataTypeMap[D]
  readonly shape: Shape

  constructor(dtype: D, data: DataTypeMap[D], shape: Shape) {
    checkShape(shape)
    const n = shapeSize(shape)
    if (data.length !== n) {
      throw new ShapeError(
        `tensor data has ${data.length} elements but shape [${shape.join(", ")}] needs ${n}. Pass data whose length is the product of the shape.`,
      )
    }
    this.dtype = dtype
    this.data = data
    this.shape = Object.freeze([...shape])
  }

  /** A zero-filled tensor. */
  static zeros<D extends DType = "float32">(shape: Shape, dtype: D = "float32" as D): Tensor<D> {
    checkShape(shape)
    return new Tensor(dtype, allocate(dtype, shapeSize(shape)), shape)
  }

  /** A float32 tensor from numbers. */
  static fromArray(values: ArrayLike<number>, shape: Shape = [values.length]): Tensor<"float32"> {
    return new Tensor("float32", Float32Array.from(values), shape)
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length
  }

  /** Row-major strides in elements. */
  get strides(): number[] {
    return contiguousStrides(this.shape)
  }

  /** Same data, new shape (a view: no copy). One dimension may be -1. */
  reshape(shape: Shape): Tensor<D> {
    const known = shape.filter((d) => d !== -1)
    const inferred = shape.length - known.length
    if (inferred > 1) throw new ShapeError(`reshape to [${shape.join(", ")}]: at most one dimension may be -1.`)
    let target = shape
    let missing = 0
    if (inferred === 1) {
      const rest = shapeSize(known)
      missing = rest === 0 ? 0 : this.size / rest
      target = shape.map((d) => (d === -1 ? missing : d))
    }
    // a fractional inferred size means the known sizes do not divide the element count
    if (!Number.isInteger(missing) || shapeSize(target) !== this.size) {
      throw new ShapeError(
        `cannot reshape [${this.shape.join(", ")}] (${this.size} elements) to [${shape.join(", ")}]. The element counts must agree.`,
      )
    }
    return new Tensor(this.dtype, this.data, target)
  }

  /** A copy with its own buffer. */
  clone(): Tensor<D> {
    return new Tensor(this.dtype, this.data.slice() as DataTypeMap[D], this.shape)
  }

  /** Element at a multi-index, as a number (int64 converted). */
  get(...index: number[]): number {
    if (index.length !== this.rank) {
      throw new ShapeError(`get: expected ${this.rank} indices for shape [${this.shape.join(", ")}], found ${index.length}.`)
    }
    let offset = 0
    const strides = this.strides
    for (let i = 0; i < index.length; i++) {
      const k = index[i]!
      const dim = this.shape[i]!
      if (k < 0 || k >= dim || !Number.isInteger(k)) {
        throw new ShapeError(`get: index ${k} out of range for axis ${i} of size ${dim}.`)
      }
      offset += k * strides[i]!
    }
    return Number(this.data[offset]!)
  }

  /** Shape as a readable string, for messages. */
  describe(): string {
    return `${this.dtype}[${this.shape.join(", ")}]`
  }
}

/** True when two shapes are equal. */
export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i])
}
