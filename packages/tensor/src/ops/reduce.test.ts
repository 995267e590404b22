import { describe, expect, it } from "vitest"
import { ShapeError } from "../errors.js"
import { Tensor } from "../tensor.js"
import { maxAbs, maxAbsDiff, mean, meanPerSample, normPerSample, relativeL2, stdPerSample, sum } from "./reduce.js"

const t = (values: number[], shape: number[]) => Tensor.fromArray(values, shape)

describe("per-sample reductions", () => {
  const x = t([1, 2, 3, 4, 10, 10, 10, 10], [2, 2, 1, 2])

  it("keep dims so they broadcast back", () => {
    const m = meanPerSample(x)
    expect(m.shape).toEqual([2, 1, 1, 1])
    expect([...m.data]).toEqual([2.5, 10])
  })

  it("std is unbiased by default, like torch", () => {
    // var([1,2,3,4]) = 5/3 unbiased, 5/4 biased
    expect(stdPerSample(x).data[0]).toBe(Math.fround(Math.sqrt(5 / 3)))
    expect(stdPerSample(x, { unbiased: false }).data[0]).toBe(Math.fround(Math.sqrt(5 / 4)))
    expect(stdPerSample(x).data[1]).toBe(0)
  })

  it("norm is the L2 norm per sample", () => {
    expect([...normPerSample(t([3, 4, 0, 0], [2, 2])).data]).toEqual([5, 0])
    expect(() => normPerSample(new Tensor("float32", new Float32Array([1]), []))).toThrow(ShapeError)
  })
})

describe("whole-tensor reductions and comparisons", () => {
  it("sum, mean, maxAbs", () => {
    const x = t([1, -7, 3, 1], [2, 2])
    expect(sum(x)).toBe(-2)
    expect(mean(x)).toBe(-0.5)
    expect(maxAbs(x)).toBe(7)
    expect(maxAbs(t([1, Number.NaN], [2]))).toBeNaN()
  })

  it("maxAbsDiff and relativeL2", () => {
    const reference = t([3, 4], [2])
    expect(maxAbsDiff(t([3, 5], [2]), reference)).toBe(1)
    expect(relativeL2(t([3, 5], [2]), reference)).toBeCloseTo(1 / 5, 12)
    expect(relativeL2(reference, reference)).toBe(0)
    expect(relativeL2(t([0, 0], [2]), t([0, 0], [2]))).toBe(0)
    expect(relativeL2(t([1, 0], [2]), t([0, 0], [2]))).toBe(Infinity)
    expect(maxAbsDiff(t([Infinity], [1]), t([Infinity], [1]))).toBe(0)
    expect(maxAbsDiff(t([Number.NaN], [1]), t([1], [1]))).toBeNaN()
    expect(relativeL2(t([Number.NaN], [1]), t([1], [1]))).toBeNaN()
    expect(() => maxAbsDiff(t([1, 2], [2]), t([1, 2], [1, 2]))).toThrow(/float32\[2\] and float32\[1, 2\]/)
  })
})
