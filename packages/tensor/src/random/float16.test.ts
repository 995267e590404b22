import { describe, expect, it } from "vitest"
import { float32ToHalfBits, float64ToHalfBits, halfBitsToNumber } from "./float16.js"

describe("float16 conversions", () => {
  it("converts exact values and specials", () => {
    expect(float32ToHalfBits(1)).toBe(0x3c00)
    expect(float32ToHalfBits(-2)).toBe(0xc000)
    expect(float32ToHalfBits(65504)).toBe(0x7bff)
    expect(float32ToHalfBits(65520)).toBe(0x7c00)
    expect(float32ToHalfBits(Infinity)).toBe(0x7c00)
    expect(float32ToHalfBits(-0)).toBe(0x8000)
    expect(float32ToHalfBits(2 ** -24)).toBe(0x0001)
    expect(float32ToHalfBits(2 ** -14)).toBe(0x0400)
    expect(halfBitsToNumber(float32ToHalfBits(Number.NaN))).toBeNaN()
  })

  it("rounds to nearest, ties to even (normal and subnormal)", () => {
    expect(float32ToHalfBits(1 + 2 ** -11)).toBe(0x3c00) // tie -> even
    expect(float32ToHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02) // tie -> even (up)
    expect(float32ToHalfBits(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01)
    expect(float32ToHalfBits(2 ** -25)).toBe(0x0000) // half of the smallest subnormal -> 0
    expect(float32ToHalfBits(3 * 2 ** -25)).toBe(0x0002)
    expect(float32ToHalfBits(65519)).toBe(0x7bff)
  })

  it("round-trips every finite half", () => {
    const failures: number[] = []
    for (let bits = 0; bits < 0x10000; bits++) {
      if ((bits & 0x7c00) === 0x7c00) continue
      if (float32ToHalfBits(halfBitsToNumber(bits)) !== bits) failures.push(bits)
    }
    expect(failures).toEqual([])
  })

  it("converts doubles through float32 like static_cast<c10::Half>(double)", () => {
    // Just above the tie 1 + 2^-11 in double, but float32 rounds it onto the tie, which goes to even.
    expect(float64ToHalfBits(1 + 2 ** -11 + 2 ** -40)).toBe(0x3c00)
  })
})
