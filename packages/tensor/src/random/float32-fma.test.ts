import { describe, expect, it } from "vitest"
import { fma32 } from "./float32-fma.js"

const fround = Math.fround

describe("fma32", () => {
  // (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24: exactly halfway between two float32 neighbours.
  const a = 1 + 2 ** -12
  const below = 1 + 2 ** -11
  const above = 1 + 2 ** -11 + 2 ** -23

  it("rounds a product-plus-tiny once, where a double sum would round twice", () => {
    expect(fround(a * a + 2 ** -80)).toBe(below) // plain double arithmetic gets it wrong
    expect(fma32(a, a, 2 ** -80)).toBe(above)
    expect(fma32(a, a, -(2 ** -80))).toBe(below)
  })

  it("breaks an exact tie to even", () => {
    expect(fma32(a, a, 0)).toBe(below)
    expect(fma32(-a, a, 0)).toBe(-below)
  })

  it("agrees with mul-then-add whenever the product is exact in float32", () => {
    let seed = 1
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * 4 - 2
    let differing = 0
    for (let i = 0; i < 10_000; i++) {
      const x = fround(random())
      const c = fround(random())
      if (fma32(x, 2, c) !== fround(2 * x + c) || fma32(x, 1, c) !== fround(x + c)) differing++
    }
    expect(differing).toBe(0)
  })

  it("is never further from the exact value than plain rounding", () => {
    let seed = 3
    const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1
    let worse = 0
    for (let i = 0; i < 10_000; i++) {
      const x = fround(random())
      const y = fround(random())
      const c = fround(random() * 2 ** -10)
      const fused = fma32(x, y, c)
      const exact = x * y + c // within half a double ulp of exact
      if (Math.abs(fused - exact) > Math.abs(fround(exact) - exact) + 2 ** -60) worse++
    }
    expect(worse).toBe(0)
  })
})
