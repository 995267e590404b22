import { ShapeError } from "../errors.js"
import type { Shape } from "../tensor.js"

/** Resolves a possibly negative axis against a rank, throwing a {@link ShapeError} naming the shape. */
export function normalizeAxis(axis: number, rank: number, what: string, shape: Shape, extra = 0): number {
  const limit = rank + extra
  const resolved = axis < 0 ? axis + limit : axis
  if (!Number.isInteger(axis) || resolved < 0 || resolved >= limit) {
    throw new ShapeError(
      `${what}: axis ${axis} is out of range for shape [${shape.join(", ")}]. Pass an axis in [${-limit}, ${limit - 1}].`,
    )
  }
  return resolved
}

/** Product of `shape[from..to)`. */
export function span(shape: Shape, from: number, to = shape.length): number {
  let n = 1
  for (let i = from; i < to; i++) n *= shape[i]!
  return n
}

/** Typed arrays of any tensor dtype, seen through the copy methods they share. */
export interface Copyable {
  readonly length: number
  set(source: Copyable, offset?: number): void
  subarray(begin?: number, end?: number): Copyable
  [index: number]: number | bigint
}
