import { describe, expect, it } from "vitest"
import { Tensor } from "../tensor.js"
import { float16BitsToFloat, floatToFloat16Bits, toDType, toFloat16, toFloat32 } from "./cast.js"

describe("float16 scalars", () => {
  it("encodes landmark values exactly", () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff], // max finite
      [65520, 0x7c00], // halfway to 2^16 rounds to inf
      [65519.99, 0x7bff],
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], // min normal
      [2 ** -24, 0x0001], // min subnormal
      [2 ** -25, 0x0000], // tie between 0 and 2^-24 -> even (0)
      [2 ** -25 * 1.0000001, 0x0001],
      [3 * 2 ** -25, 0x0002], // tie between 1 and 2 units -> even (2)
      [1023 * 2 ** -24 + 2 ** -25, 0x0400], // subnormal rounding up into the min normal
      [1 + 2 ** -11, 0x3c00], // tie -> even
      [1 + 3 * 2 ** -11, 0x3c02], // tie -> even (up)
      [0.1, 0x2e66],
      [1e-10, 0x0000],
    ]
    for (const [value, bits] of cases) expect([value, floatToFloat16Bits(value)]).toEqual([value, bits])
    expect(floatToFloat16Bits(Number.NaN) & 0x7c00).toBe(0x7c00)
    expect(floatToFloat16Bits(Number.NaN) & 0x3ff).not.toBe(0)
  })

  it("round-trips every half bit pattern (NaNs stay NaN)", () => {
    for (let bits = 0; bits < 65536; bits++) {
      const value = float16BitsToFloat(bits)
      if (Number.isNaN(value)) {
        expect((bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0).toBe(true)
        continue
      }
      if (floatToFloat16Bits(value) !== bits) expect([bits, floatToFloat16Bits(value)]).toEqual([bits, bits])
    }
    expect(float16BitsToFloat(0x7bff)).toBe(65504)
    expect(float16BitsToFloat(0x0001)).toBe(2 ** -24)
    expect(float16BitsToFloat(0xfc00)).toBe(-Infinity)
  })

  it("rounds to nearest half for random values (brute-force nearest check)", () => {
    const halves = Array.from({ length: 0x7c00 }, (_, b) => float16BitsToFloat(b))
    for (let k = 0; k < 2000; k++) {
      const value = Math.fround(Math.exp((k / 2000) * 30 - 20))
      const got = float16BitsToFloat(floatToFloat16Bits(value))
      let best = Infinity
      for (const h of halves) best = Math.min(best, Math.abs(h - value))
      if (value < 65504) expect(Math.abs(got - value)).toBe(best)
    }
  })
})

describe("tensor casts", () => {
  it("converts float16 <-> float32 and keeps float32 without copying", () => {
    const x = Tensor.fromArray([1, -0.5, 65504, 1e-8], [2, 2])
    expect(toFloat32(x)).toBe(x)
    const half = toFloat16(x)
    expect(half.dtype).toBe("float16")
    expect([...half.data]).toEqual([0x3c00, 0xb800, 0x7bff, 0x0000])
    expect(half.shape).toEqual([2, 2])
    expect([...toFloat32(half).data]).toEqual([1, -0.5, 65504, 0])
  })

  it("converts to integer dtypes by truncation toward zero", () => {
    const x = Tensor.fromArray([1.7, -2.5, 300, Number.NaN])
    expect([...toDType(x, "int32").data]).toEqual([1, -2, 300, 0])
    expect([...toDType(x, "int64").data]).toEqual([1n, -2n, 300n, 0n])
    expect([...toDType(x, "uint8").data]).toEqual([1, 254, 44, 0])
    const int64 = new Tensor("int64", new BigInt64Array([5n, -6n]), [2])
    expect([...toDType(int64, "float64").data]).toEqual([5, -6])
    expect([...toDType(int64, "float16").data]).toEqual([0x4500, 0xc600])
    expect(toDType(int64, "int64")).toBe(int64)
    expect([...toDType(toFloat16(x), "float64").data].slice(0, 2)).toEqual([1.7001953125, -2.5])
  })
})
