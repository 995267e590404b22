import { describe, expect, it } from "vitest"
import { ShapeError } from "../errors.js"
import { Tensor } from "../tensor.js"
import { chunk, concat, select, slice, split, stack } from "./layout.js"

const range = (n: number, shape: number[]) => Tensor.fromArray(Array.from({ length: n }, (_, i) => i), shape)
const list = (x: Tensor) => [...x.data].map(Number)

describe("concat and stack", () => {
  it("joins along any axis", () => {
    const a = range(4, [2, 2])
    const b = Tensor.fromArray([10, 11], [2, 1])
    const joined = concat([a, b], 1)
    expect(joined.shape).toEqual([2, 3])
    expect(list(joined)).toEqual([0, 1, 10, 2, 3, 11])
    expect(list(concat([a, a], -2))).toEqual([0, 1, 2, 3, 0, 1, 2, 3])
    expect(() => concat([a, b], 0)).toThrow(/does not fit/)
    expect(() => concat([], 0)).toThrow(ShapeError)
    expect(() => concat([a], 2)).toThrow(/axis 2 is out of range/)
  })

  it("keeps integer dtypes", () => {
    const ids = new Tensor("int64", new BigInt64Array([1n, 2n]), [1, 2])
    const joined = concat([ids, ids], 0)
    expect(joined.dtype).toBe("int64")
    expect([...joined.data]).toEqual([1n, 2n, 1n, 2n])
  })

  it("stacks on a new axis", () => {
    const a = Tensor.fromArray([1, 2], [2])
    const b = Tensor.fromArray([3, 4], [2])
    expect(stack([a, b]).shape).toEqual([2, 2])
    const last = stack([a, b], -1)
    expect(last.shape).toEqual([2, 2])
    expect(list(last)).toEqual([1, 3, 2, 4])
  })
})

describe("slice, select, split, chunk", () => {
  const x = range(12, [3, 4])

  it("slices with Python rules", () => {
    expect(list(slice(x, 0, 1, 2))).toEqual([4, 5, 6, 7])
    expect(list(slice(x, 1, -1))).toEqual([3, 7, 11])
    expect(slice(x, 1, 2, 100).shape).toEqual([3, 2])
    expect(slice(x, 0, 2, 1).shape).toEqual([0, 4])
  })

  it("selects and drops the axis", () => {
    const row = select(x, 0, -1)
    expect(row.shape).toEqual([4])
    expect(list(row)).toEqual([8, 9, 10, 11])
    expect(list(select(x, 1, 2))).toEqual([2, 6, 10])
    expect(() => select(x, 0, 3)).toThrow(/out of range/)
  })

  it("splits by size or sizes", () => {
    expect(split(x, 3, 1).map((p) => p.shape)).toEqual([
      [3, 3],
      [3, 1],
    ])
    expect(split(x, [1, 2], 0).map(list)).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7, 8, 9, 10, 11],
    ])
    expect(() => split(x, [1, 1], 0)).toThrow(/adding up to 3/)
  })

  it("chunks like torch.chunk", () => {
    const batch = range(6, [3, 2])
    const [uncond, text, perturbed] = chunk(batch, 3)
    expect([uncond, text, perturbed].map((c) => c && list(c))).toEqual([
      [0, 1],
      [2, 3],
      [4, 5],
    ])
    // torch.chunk(5 rows, 3) -> sizes 2, 2, 1; torch.chunk(4, 3) -> 2, 2 (fewer chunks)
    expect(chunk(range(5, [5]), 3).map((c) => c.size)).toEqual([2, 2, 1])
    expect(chunk(range(4, [4]), 3).map((c) => c.size)).toEqual([2, 2])
  })
})
