import { describe, expect, it } from "vitest"
import { ShapeError } from "../errors.js"
import { Tensor } from "../tensor.js"
import { interpolate } from "./interpolate.js"

const list = (x: Tensor) => [...x.data].map(Number)
const square = Tensor.fromArray([1, 2, 3, 4], [1, 1, 2, 2])

describe("interpolate", () => {
  it("bilinear, align_corners=False (torch reference values)", () => {
    const out = interpolate(square, { size: [4, 4], mode: "bilinear" })
    expect(out.shape).toEqual([1, 1, 4, 4])
    expect(list(out)).toEqual([1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4])
  })

  it("bilinear, align_corners=True", () => {
    const out = interpolate(square, { size: [3, 3], mode: "bilinear", alignCorners: true })
    expect(list(out)).toEqual([1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4])
  })

  it("bilinear downsampling averages the two nearest taps", () => {
    const row = Tensor.fromArray([0, 1, 2, 3], [1, 1, 1, 4])
    // scale 2: src = 2 * (dst + 0.5) - 0.5 = 0.5, 2.5
    expect(list(interpolate(row, { size: [1, 2], mode: "bilinear" }))).toEqual([0.5, 2.5])
  })

  it("nearest uses torch's legacy floor(dst * in / out)", () => {
    const row = Tensor.fromArray([10, 20], [1, 1, 1, 2])
    expect(list(interpolate(row, { size: [1, 5] }))).toEqual([10, 10, 10, 20, 20])
    const three = Tensor.fromArray([1, 2, 3], [1, 1, 1, 3])
    expect(list(interpolate(three, { size: [1, 2] }))).toEqual([1, 2])
    expect(list(interpolate(three, { size: [1, 6] }))).toEqual([1, 1, 2, 2, 3, 3])
  })

  it("nearest-exact uses pixel centres", () => {
    const row = Tensor.fromArray([10, 20], [1, 1, 1, 2])
    expect(list(interpolate(row, { size: [1, 5], mode: "nearest-exact" }))).toEqual([10, 10, 20, 20, 20])
    const three = Tensor.fromArray([1, 2, 3], [1, 1, 1, 3])
    expect(list(interpolate(three, { size: [1, 2], mode: "nearest-exact" }))).toEqual([1, 3])
  })

  it("resizes every plane of a batch", () => {
    const x = Tensor.fromArray([1, 2, 3, 4, 5, 6, 7, 8], [2, 1, 2, 2])
    const out = interpolate(x, { size: [1, 1], mode: "nearest" })
    expect(list(out)).toEqual([1, 5])
  })

  it("checks rank, size and options", () => {
    expect(() => interpolate(Tensor.fromArray([1, 2], [2]), { size: [2, 2] })).toThrow(/expected \[N, C, H, W\]/)
    expect(() => interpolate(square, { size: [0, 2] })).toThrow(ShapeError)
    expect(() => interpolate(square, { size: [2, 2], alignCorners: true })).toThrow(/bilinear/)
  })
})
