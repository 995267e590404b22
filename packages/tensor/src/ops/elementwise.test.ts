import { describe, expect, it } from "vitest"
import { ShapeError } from "../errors.js"
import { Tensor } from "../tensor.js"
import { broadcastShapes } from "./broadcast.js"
import { toFloat16 } from "./cast.js"
import { add, axpy, clamp, div, lerp, map, mul, scale, sub, where } from "./elementwise.js"

const t = (values: number[], shape: number[]) => Tensor.fromArray(values, shape)
const list = (x: Tensor) => [...x.data].map(Number)

describe("broadcastShapes", () => {
  it("follows numpy rules", () => {
    expect(broadcastShapes([[2, 4, 3], [3]])).toEqual([2, 4, 3])
    expect(broadcastShapes([[2, 1, 3], [4, 1]])).toEqual([2, 4, 3])
    expect(broadcastShapes([[], [5]])).toEqual([5])
    expect(() => broadcastShapes([[2, 3], [4, 3]], "add")).toThrow(/add: shapes \[2, 3\] and \[4, 3\] do not broadcast/)
  })
})

describe("arithmetic", () => {
  it("adds, subtracts, multiplies, divides with the same shape and scalars", () => {
    const a = t([1, 2, 3, 4], [2, 2])
    const b = t([10, 20, 30, 40], [2, 2])
    expect(list(add(a, b))).toEqual([11, 22, 33, 44])
    expect(list(sub(a, b))).toEqual([-9, -18, -27, -36])
    expect(list(mul(a, 2))).toEqual([2, 4, 6, 8])
    expect(list(div(b, a))).toEqual([10, 10, 10, 10])
    expect(list(div(a, 0))).toEqual([Infinity, Infinity, Infinity, Infinity])
    expect(list(scale(a, -1))).toEqual([-1, -2, -3, -4])
    expect(add(a, b).shape).toEqual([2, 2])
  })

  it("broadcasts both ways", () => {
    const column = t([1, 2], [2, 1])
    const row = t([10, 20, 30], [3])
    const sum = add(column, row)
    expect(sum.shape).toEqual([2, 3])
    expect(list(sum)).toEqual([11, 21, 31, 12, 22, 32])
    const perSample = t([2, 3], [2, 1, 1, 1])
    const x = t([1, 1, 1, 1, 1, 1, 1, 1], [2, 2, 1, 2])
    expect(list(mul(x, perSample))).toEqual([2, 2, 2, 2, 3, 3, 3, 3])
    expect(() => add(t([1, 2, 3], [3]), t([1, 2], [2]))).toThrow(ShapeError)
  })

  it("rounds to float32 like torch, including scalars", () => {
    // 0.1 as a float32 scalar times 3 in float32 arithmetic
    expect(mul(t([3], [1]), 0.1).data[0]).toBe(Math.fround(3 * Math.fround(0.1)))
    expect(add(t([1], [1]), 1e-8).data[0]).toBe(1)
  })

  it("reads float16 and integer inputs as values", () => {
    const half = toFloat16(t([1.5, 2], [2]))
    const ints = new Tensor("int32", new Int32Array([1, 2]), [2])
    expect(list(add(half, ints))).toEqual([2.5, 4])
  })
})

describe("axpy, lerp, clamp, where, map", () => {
  it("axpy rounds the product before the sum", () => {
    const x = t([1, 2], [2])
    const y = t([10, 20], [2])
    expect(list(axpy(0.5, x, y))).toEqual([10.5, 21])
    const alpha = 1 / 3
    const expected = Math.fround(Math.fround(Math.fround(alpha) * Math.fround(0.7)) + Math.fround(0.2))
    expect(axpy(alpha, t([0.7], [1]), t([0.2], [1])).data[0]).toBe(expected)
    expect(list(axpy(2, x, 1))).toEqual([3, 5])
  })

  it("lerp is uncond + w * (cond - uncond)", () => {
    const uncond = t([1, 2], [2])
    const cond = t([3, 6], [2])
    expect(list(lerp(uncond, cond, 7.5))).toEqual([16, 32])
    expect(list(lerp(uncond, cond, 0))).toEqual([1, 2])
    expect(list(lerp(t([0, 0, 0, 0], [2, 2]), t([1, 1, 1, 1], [2, 2]), t([2, 3], [2, 1])))).toEqual([2, 2, 3, 3])
  })

  it("clamp keeps NaN and rejects min > max", () => {
    const out = clamp(t([-2, 0.5, 2, Number.NaN], [4]), -1, 1)
    expect(list(out).slice(0, 3)).toEqual([-1, 0.5, 1])
    expect(Number.isNaN(out.data[3])).toBe(true)
    expect(list(clamp(t([5], [1]), 0, Infinity))).toEqual([5])
    expect(() => clamp(t([1], [1]), 2, 1)).toThrow(ShapeError)
  })

  it("where takes a mask tensor (broadcast) or a predicate", () => {
    const mask = new Tensor("uint8", new Uint8Array([1, 0]), [1, 2])
    const a = t([1, 2, 3, 4], [2, 2])
    expect(list(where(mask, a, 0))).toEqual([1, 0, 3, 0])
    expect(list(where((x, y) => x > y, a, t([2, 2, 2, 2], [2, 2])))).toEqual([2, 2, 3, 4])
  })

  it("map passes values and indices", () => {
    expect(list(map(t([1, 2, 3], [3]), (v, i) => v * 10 + i))).toEqual([10, 21, 32])
  })
})
