import { describe, expect, it } from "vitest"
import { ShapeError } from "../errors.js"
import { Tensor } from "../tensor.js"
import { permute, repeatInterleave, tile, transpose } from "./permute.js"

const range = (n: number, shape: number[]) => Tensor.fromArray(Array.from({ length: n }, (_, i) => i), shape)
const list = (x: Tensor) => [...x.data].map(Number)

describe("permute and transpose", () => {
  it("reorders axes", () => {
    const x = range(6, [1, 2, 3]) // [n, c, l]
    const y = permute(x, [0, 2, 1])
    expect(y.shape).toEqual([1, 3, 2])
    expect(list(y)).toEqual([0, 3, 1, 4, 2, 5])
    expect(list(transpose(x, -1, -2))).toEqual(list(y))
    const nchw = range(24, [1, 2, 3, 4])
    expect(list(permute(permute(nchw, [0, 2, 3, 1]), [0, 3, 1, 2]))).toEqual(list(nchw))
    expect(() => permute(x, [0, 0, 1])).toThrow(ShapeError)
  })
})

describe("tile and repeatInterleave", () => {
  it("tiles like torch.repeat", () => {
    const x = Tensor.fromArray([1, 2], [1, 2])
    expect(list(tile(x, [2, 2]))).toEqual([1, 2, 1, 2, 1, 2, 1, 2])
    expect(tile(x, [2, 2]).shape).toEqual([2, 4])
    const leading = tile(x, [3, 1, 1])
    expect(leading.shape).toEqual([3, 1, 2])
    expect(list(leading)).toEqual([1, 2, 1, 2, 1, 2])
    expect(() => tile(x, [2])).toThrow(/at least 2/)
  })

  it("repeats each element along an axis", () => {
    const x = range(4, [2, 2])
    expect(list(repeatInterleave(x, 2, 0))).toEqual([0, 1, 0, 1, 2, 3, 2, 3])
    expect(list(repeatInterleave(x, 2, 1))).toEqual([0, 0, 1, 1, 2, 2, 3, 3])
    expect(repeatInterleave(x, 3).shape).toEqual([6, 2])
  })
})
