import { ShapeError } from "../errors.js"
import type { Shape } from "../tensor.js"
import { contiguousStrides, sameShape } from "../tensor.js"

/**
 * The numpy/torch broadcast of shapes: aligned at the trailing dimension, sizes equal or 1.
 * Throws a {@link ShapeError} naming the shapes when they do not broadcast.
 *
 * @example
 * broadcastShapes([[2, 4, 8, 8], [2, 1, 1, 1]]) // [2, 4, 8, 8]
 */
export function broadcastShapes(shapes: readonly Shape[], what = "broadcast"): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length))
  const out = new Array<number>(rank).fill(1)
  for (const shape of shapes) {
    for (let i = 0; i < shape.length; i++) {
      const axis = rank - shape.length + i
      const size = shape[i]!
      const current = out[axis]!
      if (size === current || size === 1) continue
      if (current === 1) {
        out[axis] = size
        continue
      }
      throw new ShapeError(
        `${what}: shapes ${shapes.map((s) => `[${s.join(", ")}]`).join(" and ")} do not broadcast ` +
          `(axis ${axis - rank} has sizes ${current} and ${size}). Sizes must match or be 1, aligned from the last axis.`,
      )
    }
  }
  return out
}

/** Strides (in elements) for reading a tensor of `shape` broadcast to `target`: 0 on broadcast axes. */
export function broadcastStrides(shape: Shape, target: Shape): number[] {
  const own = contiguousStrides(shape)
  const offset = target.length - shape.length
  return target.map((_, axis) => {
    const i = axis - offset
    return i < 0 || shape[i] === 1 ? 0 : own[i]!
  })
}

/**
 * For each output element of `target` (row-major), the flat index into each input of `shapes`.
 * Returns `undefined` entries for inputs that already have the target shape (index = output index).
 */
export function broadcastIndexMaps(shapes: readonly Shape[], target: Shape): (Int32Array | undefined)[] {
  const size = target.reduce((n, d) => n * d, 1)
  return shapes.map((shape) => {
    if (sameShape(shape, target)) return undefined
    const strides = broadcastStrides(shape, target)
    const map = new Int32Array(size)
    const index = new Array<number>(target.length).fill(0)
    let flat = 0
    for (let i = 0; i < size; i++) {
      map[i] = flat
      // increment the multi-index, keeping `flat` in step
      for (let axis = target.length - 1; axis >= 0; axis--) {
        index[axis]!++
        flat += strides[axis]!
        if (index[axis]! < target[axis]!) break
        flat -= strides[axis]! * target[axis]!
        index[axis] = 0
      }
    }
    return map
  })
}
