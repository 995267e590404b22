import { describe, expect, it } from "vitest"
import { betaPpf, logGamma, regularizedIncompleteBeta } from "./beta-ppf.js"
import {
  betaSigmas,
  exponentialSigmas,
  karrasSigmas,
  npArange,
  npInterp,
  npLinspace,
  roundHalfEven,
  sigmaToT,
  spacedTimesteps,
} from "./sigmas.js"

describe("numpy semantics", () => {
  it("rounds half to even like ndarray.round()", () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 832.5, 499.5, 2.4, 2.6].map(roundHalfEven)).toEqual([
      0, 2, 2, -0, -2, 832, 500, 2, 3,
    ])
  })

  it("linspace and arange match numpy", () => {
    expect(Array.from(npLinspace(0, 999, 7))).toEqual([0, 166.5, 333, 499.5, 666, 832.5, 999])
    expect(npArange(1000, 0, -1000 / 7).length).toBe(7)
    expect(npArange(1000, 0, -100).length).toBe(10)
  })

  it("interp clamps at the ends and is linear inside", () => {
    const xp = [0, 1, 2]
    const fp = [10, 20, 40]
    expect([-1, 0, 0.5, 1.5, 2, 3].map((x) => npInterp(x, xp, fp))).toEqual([10, 10, 15, 30, 40, 40])
  })

  it("spaces DDIM-style integer timesteps as numpy does", () => {
    expect(spacedTimesteps("linspace", 1000, 7)).toEqual([999, 832, 666, 500, 333, 166, 0])
    expect(spacedTimesteps("leading", 1000, 7, 1)).toEqual([853, 711, 569, 427, 285, 143, 1])
    expect(spacedTimesteps("trailing", 1000, 7)).toEqual([999, 856, 713, 570, 428, 285, 142])
  })
})

describe("sigma conversions", () => {
  it("karras / exponential / beta start at sigma_max and end at sigma_min", () => {
    for (const f of [karrasSigmas, exponentialSigmas, betaSigmas]) {
      const s = f(0.03, 14.6, 12)
      expect(s[0]).toBeCloseTo(14.6, 10)
      expect(s[11]).toBeCloseTo(0.03, 10)
      for (let i = 1; i < 12; i++) expect(s[i]!).toBeLessThan(s[i - 1]!)
    }
  })

  it("beta.ppf matches scipy to ~1e-15", () => {
    const expected: [number, number][] = [
      [0.001, 1.855873851745199e-5],
      [0.1, 0.03958440558878085],
      [0.3, 0.23401700387523572],
      [0.7, 0.7659829961247643],
      [8 / 9, 0.9529081824509575],
      [0.999, 0.9999814412614826],
    ]
    for (const [q, x] of expected) expect(Math.abs(betaPpf(q, 0.6, 0.6) - x)).toBeLessThan(1e-14)
    expect(betaPpf(0, 0.6, 0.6)).toBe(0)
    expect(betaPpf(1, 0.6, 0.6)).toBe(1)
    expect(regularizedIncompleteBeta(0.5, 2, 2)).toBeCloseTo(0.5, 14)
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 13)
  })

  it("sigma_to_t inverts the log-sigma table", () => {
    const table = Float32Array.from({ length: 10 }, (_, i) => Math.fround(Math.log(0.1 * (i + 1))))
    expect(sigmaToT(0.1 * 4, table)).toBeCloseTo(3, 5)
    expect(sigmaToT(0.45, table)).toBeGreaterThan(3)
    expect(sigmaToT(0.45, table)).toBeLessThan(4)
    expect(sigmaToT(100, table)).toBe(9)
    expect(sigmaToT(0, table)).toBe(0)
  })
})
