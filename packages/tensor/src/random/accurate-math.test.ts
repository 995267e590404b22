import { describe, expect, it } from "vitest"
import { accurateLog, accurateSinCos } from "./accurate-math.js"

function ulps(a: number, b: number): number {
  const view = new BigInt64Array(new Float64Array([a, b]).buffer)
  const d = view[0]! - view[1]!
  return Number(d < 0n ? -d : d)
}

describe("accurateLog", () => {
  it("is exact where the answer is known", () => {
    expect(accurateLog(1)).toBe(0)
    expect(accurateLog(0.5)).toBe(-0.6931471805599453) // -ln 2 rounded
    expect(accurateLog(2 ** -53)).toBe(-36.7368005696771) // -53 ln 2 rounded
    expect(accurateLog(Math.E)).toBe(1)
    expect(accurateLog(0)).toBe(-Infinity)
    expect(accurateLog(-1)).toBeNaN()
  })

  it("stays within one ulp of Math.log on (0, 1] and agrees with it on most arguments", () => {
    let same = 0
    let worst = 0
    const count = 20_000
    for (let i = 1; i <= count; i++) {
      const x = ((i * 7919) % count) / count
      if (x === 0) continue
      const distance = ulps(accurateLog(x), Math.log(x))
      worst = Math.max(worst, distance)
      if (distance === 0) same++
    }
    expect(worst).toBeLessThanOrEqual(1)
    expect(same / count).toBeGreaterThan(0.8)
  })
})

describe("accurateSinCos", () => {
  const out = { sin: 0, cos: 0 }

  it("is exact at 0 and stays within one ulp of Math.sin/cos on [0, 2pi)", () => {
    accurateSinCos(0, out)
    expect(out).toEqual({ sin: 0, cos: 1 })
    let outside = 0
    for (let i = 0; i < 20_000; i++) {
      const theta = 2 * Math.PI * (i / 20_000)
      accurateSinCos(theta, out)
      // near zeros of sin/cos the relative ulp gap can be larger: compare absolutely there
      const sinBound = Math.max(Math.abs(Math.sin(theta)) * 2 ** -52, 2 ** -60)
      const cosBound = Math.max(Math.abs(Math.cos(theta)) * 2 ** -52, 2 ** -60)
      if (Math.abs(out.sin - Math.sin(theta)) > sinBound || Math.abs(out.cos - Math.cos(theta)) > cosBound) outside++
    }
    expect(outside).toBe(0)
  })

  it("keeps sin^2 + cos^2 = 1 to double precision", () => {
    let worst = 0
    for (let i = 0; i < 1000; i++) {
      accurateSinCos(i * 0.00628318, out)
      worst = Math.max(worst, Math.abs(out.sin * out.sin + out.cos * out.cos - 1))
    }
    expect(worst).toBeLessThan(4e-16)
  })
})
