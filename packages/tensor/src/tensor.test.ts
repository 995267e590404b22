import { describe, expect, it } from "vitest"
import { ShapeError } from "./errors.js"
import { Tensor } from "./tensor.js"

describe("Tensor.reshape", () => {
  it("infers one -1 dimension and shares the buffer", () => {
    const t = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3])
    const r = t.reshape([3, -1])
    expect(r.shape).toEqual([3, 2])
    expect(r.data).toBe(t.data)
  })

  it("says the element counts disagree when the known sizes do not divide them", () => {
    const t = Tensor.zeros([2, 3])
    // 6 / 4 is not whole: the message names the requested shape, not an inferred size of 1.5
    expect(() => t.reshape([-1, 4])).toThrow(ShapeError)
    expect(() => t.reshape([-1, 4])).toThrow(/cannot reshape \[2, 3\] \(6 elements\) to \[-1, 4\]/)
    expect(() => t.reshape([-1, -1])).toThrow(/at most one dimension may be -1/)
  })
})
