import { describe, expect, it } from "vitest"
import { adaptivePagScale } from "./adaptive-scale.js"

describe("adaptivePagScale", () => {
  it("returns the scale unchanged without adaptive scaling", () => {
    expect(adaptivePagScale(3, 0, 1)).toBe(3)
  })

  it("decays linearly with 1000 − t and clamps at 0", () => {
    expect(adaptivePagScale(3, 0.005, 1000)).toBe(3)
    expect(adaptivePagScale(3, 0.005, 801)).toBeCloseTo(3 - 0.005 * 199, 6)
    expect(adaptivePagScale(3, 0.005, 400)).toBe(0) // 3 − 3 = 0
    expect(adaptivePagScale(3, 0.005, 1)).toBe(0) // negative → 0
  })

  it("evaluates in float32 like diffusers' tensor arithmetic", () => {
    const f = Math.fround
    expect(adaptivePagScale(3.3, 0.00123, 601)).toBe(f(f(3.3) - f(f(0.00123) * 399)))
    expect(adaptivePagScale(3.3, 0.00123, 601)).not.toBe(3.3 - 0.00123 * 399)
  })
})
