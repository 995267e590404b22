// Row bookkeeping of a split run: which rows share inputs, and gathering their representatives.
import { Tensor } from "@pagkit/tensor"

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
