import { describe, expect, it } from "vitest"
import { log256, sincos256 } from "./avx-mathfun.js"

const fround = Math.fround

describe("log256 (Cephes float32 log of avx_mathfun.h)", () => {
  it("is within 2 float32 ulps of the true log on (0, 1]", () => {
    let worst = 0
    for (let k = 1; k <= 1 << 16; k++) {
      const x = fround(k / 65536)
      const exact = Math.log(x)
      const ulp = 2 ** (Math.floor(Math.log2(Math.abs(exact) || 1)) - 23)
      worst = Math.max(worst, Math.abs(log256(x) - exact) / ulp)
    }
    expect(worst).toBeLessThanOrEqual(2)
  })

  it("returns float32 values, 0 at 1 and NaN for x <= 0", () => {
    expect(log256(1)).toBe(0)
    const y = log256(0.3)
    expect(fround(y)).toBe(y)
    expect(log256(0)).toBeNaN()
    expect(log256(-1)).toBeNaN()
  })
})

describe("sincos256 (Cephes float32 sincos of avx_mathfun.h)", () => {
  it("is within 2^-23 of Math.sin/cos on [0, 2pi) and returns float32 values", () => {
    const out = { sin: 0, cos: 0 }
    let worst = 0
    let notFloat = 0
    for (let k = 0; k < 1 << 16; k++) {
      const theta = fround((2 * Math.PI * k) / 65536)
      sincos256(theta, out)
      worst = Math.max(worst, Math.abs(out.sin - Math.sin(theta)), Math.abs(out.cos - Math.cos(theta)))
      if (fround(out.sin) !== out.sin || fround(out.cos) !== out.cos) notFloat++
    }
    expect(worst).toBeLessThanOrEqual(2 ** -23)
    expect(notFloat).toBe(0)
  })

  it("gives exact values at 0 and keeps the sign for negative arguments", () => {
    const out = { sin: 1, cos: 0 }
    sincos256(0, out)
    expect(out).toEqual({ sin: 0, cos: 1 })
    sincos256(fround(-1), out)
    const positive = { sin: 0, cos: 0 }
    sincos256(1, positive)
    expect(out.sin).toBe(-positive.sin)
    expect(out.cos).toBe(positive.cos)
  })
})
