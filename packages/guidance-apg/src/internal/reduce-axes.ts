import { GuidanceOptionsError } from "@pagkit/guidance"
import type { Shape } from "@pagkit/tensor"

/** Elements grouped by the index they keep after reducing some axes (torch's `dim=` with `keepdim=True`). */
export interface AxisGroups {
  /** Group of each element, in row-major order. */
  readonly groupOf: Int32Array
  /** Number of groups (the reduced tensor's size). */
  readonly count: number
}

/**
 * Resolves diffusers' `adaptive_projected_guidance_norm_dim` for a tensor rank: `null` = every
 * non-batch axis; negative axes count from the end. Axis 0 (the batch) is refused: pagkit keeps the
 * images of a batch independent.
 */
export function resolveAxes(normDim: readonly number[] | null, rank: number): number[] {
  if (normDim === null) return Array.from({ length: rank - 1 }, (_, i) => i + 1)
  const axes = normDim.map((d) => (d < 0 ? d + rank : d))
  for (const [i, axis] of axes.entries()) {
    if (axis < 1 || axis >= rank) {
      throw new GuidanceOptionsError(
        `apg() normDim: axis ${normDim[i]} does not name a non-batch axis of a rank-${rank} prediction; ` +
          `expected values in 1…${rank - 1} or −${rank - 1}…−1 (axis 0 is the batch, whose images stay independent).`,
      )
    }
  }
  if (new Set(axes).size !== axes.length) {
    throw new GuidanceOptionsError(`apg() normDim: axes [${normDim.join(", ")}] name the same axis twice; list each axis once.`)
  }
  return axes
}

/** Groups the elements of a tensor of `shape` by their index on the axes not in `axes`. */
export function axisGroups(shape: Shape, axes: readonly number[]): AxisGroups {
  const reduced = new Set(axes)
  const size = shape.reduce((n, d) => n * d, 1)
  const groupOf = new Int32Array(size)
  // Stride of each kept axis inside the reduced tensor (row-major over kept axes).
  const keptStride = new Array<number>(shape.length).fill(0)
  let count = 1
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    if (reduced.has(axis)) continue
    keptStride[axis] = count
    count *= shape[axis]!
  }
  const index = new Array<number>(shape.length).fill(0)
  let group = 0
  for (let flat = 0; flat < size; flat++) {
    groupOf[flat] = group
    // Advance the multi-index (last axis fastest) and keep `group` in step with it.
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      index[axis]! += 1
      group += keptStride[axis]!
      if (index[axis]! < shape[axis]!) break
      group -= keptStride[axis]! * shape[axis]!
      index[axis] = 0
    }
  }
  return { groupOf, count }
}
