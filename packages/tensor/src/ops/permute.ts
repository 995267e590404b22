import { ShapeError } from "../errors.js"
import type { DType } from "../tensor.js"
import { Tensor, allocate, contiguousStrides } from "../tensor.js"
import type { Copyable } from "../internal/axis.js"
import { normalizeAxis } from "../internal/axis.js"

/**
 * Reorders axes (torch `permute`): output axis `i` is input axis `dims[i]`. Copies into a new buffer.
 *
 * @example
 * permute(images, [0, 2, 3, 1]) // [N, C, H, W] -> [N, H, W, C]
 */
export function permute<D extends DType>(t: Tensor<D>, dims: readonly number[]): Tensor<D> {
  const axes = dims.map((d) => normalizeAxis(d, t.rank, "permute", t.shape))
  if (axes.length !== t.rank || new Set(axes).size !== t.rank) {
    throw new ShapeError(
      `permute: expected a permutation of ${t.rank} axes for ${t.describe()}, found [${dims.join(", ")}]. Name each axis once.`,
    )
  }
  const shape = axes.map((a) => t.shape[a]!)
  const inStrides = contiguousStrides(t.shape)
  const strides = axes.map((a) => inStrides[a]!) // input stride of each output axis
  const out = allocate(t.dtype, t.size)
  const source = t.data as unknown as Copyable
  const target = out as unknown as Copyable
  const rank = shape.length
  const index = new Array<number>(rank).fill(0)
  let from = 0
  for (let i = 0; i < t.size; i++) {
    target[i] = source[from]!
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis]!++
      from += strides[axis]!
      if (index[axis]! < shape[axis]!) break
      from -= strides[axis]! * shape[axis]!
      index[axis] = 0
    }
  }
  return new Tensor(t.dtype, out, shape)
}

/** Swaps two axes (torch `transpose`). */
export function transpose<D extends DType>(t: Tensor<D>, axis0: number, axis1: number): Tensor<D> {
  const a = normalizeAxis(axis0, t.rank, "transpose", t.shape)
  const b = normalizeAxis(axis1, t.rank, "transpose", t.shape)
  const dims = t.shape.map((_, i) => (i === a ? b : i === b ? a : i))
  return permute(t, dims)
}

/**
 * Tiles a tensor (torch `x.repeat(*reps)`): `reps` has at least `rank` entries; extra leading
 * entries add new leading axes.
 *
 * @example
 * tile(promptEmbeds, [2, 1, 1]) // [1, 77, 2048] -> [2, 77, 2048]
 */
export function tile<D extends DType>(t: Tensor<D>, reps: readonly number[]): Tensor<D> {
  if (reps.length < t.rank || reps.some((r) => !Number.isInteger(r) || r < 0)) {
    throw new ShapeError(
      `tile: expected at least ${t.rank} non-negative integer repeats for ${t.describe()}, found [${reps.join(", ")}].`,
    )
  }
  const inShape = [...new Array<number>(reps.length - t.rank).fill(1), ...t.shape]
  let current = new Tensor(t.dtype, t.data, inShape)
  // repeat one axis at a time, innermost first: each step copies whole blocks
  for (let axis = reps.length - 1; axis >= 0; axis--) {
    const r = reps[axis]!
    if (r !== 1) current = repeatAxis(current, axis, r, "tile")
  }
  return current
}

/** Repeats the block after `axis` `r` times along `axis` (tile) or each element `r` times (interleave). */
function repeatAxis<D extends DType>(t: Tensor<D>, axis: number, r: number, mode: "tile" | "interleave"): Tensor<D> {
  const outer = t.shape.slice(0, axis).reduce((n, d) => n * d, 1)
  const size = t.shape[axis]!
  const inner = t.shape.slice(axis + 1).reduce((n, d) => n * d, 1)
  const out = allocate(t.dtype, t.size * r)
  const source = t.data as unknown as Copyable
  const target = out as unknown as Copyable
  let position = 0
  for (let o = 0; o < outer; o++) {
    const block = source.subarray(o * size * inner, (o + 1) * size * inner)
    if (mode === "tile") {
      for (let k = 0; k < r; k++, position += block.length) target.set(block, position)
    } else {
      for (let s = 0; s < size; s++) {
        const row = block.subarray(s * inner, (s + 1) * inner)
        for (let k = 0; k < r; k++, position += inner) target.set(row, position)
      }
    }
  }
  return new Tensor(t.dtype, out, t.shape.map((d, i) => (i === axis ? d * r : d)))
}

/**
 * Repeats each element `n` times along an axis (torch `repeat_interleave(n, dim=axis)`).
 *
 * @example
 * repeatInterleave(imageEmbeds, numImagesPerPrompt, 0) // [B, …] -> [B·n, …]
 */
export function repeatInterleave<D extends DType>(t: Tensor<D>, n: number, axis = 0): Tensor<D> {
  if (!Number.isInteger(n) || n < 0) throw new ShapeError(`repeatInterleave: repeats must be a non-negative integer, found ${n}.`)
  const dim = normalizeAxis(axis, t.rank, "repeatInterleave", t.shape)
  return repeatAxis(t, dim, n, "interleave")
}
