import { ShapeError } from "../errors.js"
import type { DType, DataTypeMap } from "../tensor.js"
import { Tensor, allocate, sameShape } from "../tensor.js"
import type { Copyable } from "../internal/axis.js"
import { normalizeAxis, span } from "../internal/axis.js"

// Copies along one axis: a tensor is seen as [outer, size(axis), inner] blocks.

function view(data: DataTypeMap[DType]): Copyable {
  return data as unknown as Copyable
}

/**
 * Joins tensors along an existing axis (torch.cat). All must share dtype and every other dimension.
 *
 * @example
 * concat([noisePredUncond, noisePredText], 0) // [1, …] + [1, …] -> [2, …]
 */
export function concat<D extends DType>(tensors: readonly Tensor<D>[], axis = 0): Tensor<D> {
  const first = tensors[0]
  if (first === undefined) throw new ShapeError("concat: expected at least one tensor, found none.")
  const dim = normalizeAxis(axis, first.rank, "concat", first.shape)
  for (const t of tensors) {
    const ok = t.rank === first.rank && t.dtype === first.dtype && t.shape.every((d, i) => i === dim || d === first.shape[i])
    if (!ok) {
      throw new ShapeError(
        `concat along axis ${axis}: ${t.describe()} does not fit ${first.describe()}. ` +
          "Dtypes and all other dimensions must match.",
      )
    }
  }
  const total = tensors.reduce((n, t) => n + t.shape[dim]!, 0)
  const shape = first.shape.map((d, i) => (i === dim ? total : d))
  const outer = span(first.shape, 0, dim)
  const inner = span(first.shape, dim + 1)
  const out = allocate(first.dtype, outer * total * inner)
  const target = view(out)
  let position = 0
  for (let o = 0; o < outer; o++) {
    for (const t of tensors) {
      const block = t.shape[dim]! * inner
      target.set(view(t.data).subarray(o * block, (o + 1) * block), position)
      position += block
    }
  }
  return new Tensor(first.dtype, out, shape)
}

/** Joins tensors of one shape along a new axis (torch.stack). */
export function stack<D extends DType>(tensors: readonly Tensor<D>[], axis = 0): Tensor<D> {
  const first = tensors[0]
  if (first === undefined) throw new ShapeError("stack: expected at least one tensor, found none.")
  for (const t of tensors) {
    if (!sameShape(t.shape, first.shape)) {
      throw new ShapeError(`stack: expected equal shapes, found ${first.describe()} and ${t.describe()}.`)
    }
  }
  const dim = normalizeAxis(axis, first.rank, "stack", first.shape, 1)
  const expanded = [...first.shape.slice(0, dim), 1, ...first.shape.slice(dim)]
  return concat(
    tensors.map((t) => t.reshape(expanded)),
    dim,
  )
}

/**
 * Elements `start..end` (Python slice rules: negative counts from the end, out of range clamps) along an axis.
 *
 * @example
 * slice(x, 0, -1) // the last sample of a batch, keeping the batch axis
 */
export function slice<D extends DType>(t: Tensor<D>, axis: number, start: number, end?: number): Tensor<D> {
  const dim = normalizeAxis(axis, t.rank, "slice", t.shape)
  const size = t.shape[dim]!
  const resolve = (i: number): number => Math.min(size, Math.max(0, i < 0 ? i + size : i))
  const from = resolve(start)
  const to = Math.max(from, resolve(end ?? size))
  const length = to - from
  const outer = span(t.shape, 0, dim)
  const inner = span(t.shape, dim + 1)
  const out = allocate(t.dtype, outer * length * inner)
  const source = view(t.data)
  for (let o = 0; o < outer; o++) {
    const begin = (o * size + from) * inner
    view(out).set(source.subarray(begin, begin + length * inner), o * length * inner)
  }
  return new Tensor(t.dtype, out, t.shape.map((d, i) => (i === dim ? length : d)))
}

/** Index `index` of an axis, removing that axis (torch `x.select(axis, i)`; negative counts from the end). */
export function select<D extends DType>(t: Tensor<D>, axis: number, index: number): Tensor<D> {
  const dim = normalizeAxis(axis, t.rank, "select", t.shape)
  const size = t.shape[dim]!
  const i = index < 0 ? index + size : index
  if (!Number.isInteger(index) || i < 0 || i >= size) {
    throw new ShapeError(`select: index ${index} is out of range for axis ${axis} of ${t.describe()}.`)
  }
  const picked = slice(t, dim, i, i + 1)
  return picked.reshape(t.shape.filter((_, k) => k !== dim))
}

/**
 * Splits into pieces of `sizes` along an axis (torch.split): a number gives equal pieces (the last
 * may be smaller), an array gives exact sizes that must add up to the axis size.
 */
export function split<D extends DType>(t: Tensor<D>, sizes: number | readonly number[], axis = 0): Tensor<D>[] {
  const dim = normalizeAxis(axis, t.rank, "split", t.shape)
  const total = t.shape[dim]!
  let pieces: number[]
  if (typeof sizes === "number") {
    if (!Number.isInteger(sizes) || sizes <= 0) throw new ShapeError(`split: piece size must be a positive integer, found ${sizes}.`)
    pieces = []
    for (let at = 0; at < total; at += sizes) pieces.push(Math.min(sizes, total - at))
    if (total === 0) pieces.push(0)
  } else {
    pieces = [...sizes]
    const sumOfSizes = pieces.reduce((n, s) => n + s, 0)
    if (sumOfSizes !== total || pieces.some((s) => !Number.isInteger(s) || s < 0)) {
      throw new ShapeError(
        `split: sizes [${pieces.join(", ")}] must be non-negative integers adding up to ${total} (axis ${axis} of ${t.describe()}).`,
      )
    }
  }
  let at = 0
  return pieces.map((length) => {
    const piece = slice(t, dim, at, at + length)
    at += length
    return piece
  })
}

/**
 * Splits into `n` chunks along an axis like torch.chunk: each of size ceil(size / n), the last smaller,
 * possibly fewer than `n` chunks.
 *
 * @example
 * const [uncond, text, perturbed] = chunk(noisePred, 3) // CFG + PAG batch
 */
export function chunk<D extends DType>(t: Tensor<D>, n: number, axis = 0): Tensor<D>[] {
  if (!Number.isInteger(n) || n <= 0) throw new ShapeError(`chunk: number of chunks must be a positive integer, found ${n}.`)
  const dim = normalizeAxis(axis, t.rank, "chunk", t.shape)
  const size = t.shape[dim]!
  return split(t, Math.max(1, Math.ceil(size / n)), dim)
}
