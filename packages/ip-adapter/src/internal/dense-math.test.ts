import { describe, expect, it } from "vitest"
import { erf, layerNorm, linear } from "./dense-math.js"

describe("dense math", () => {
  it("erf matches reference values to double precision", () => {
    // values from scipy.special.erf
    const cases: [number, number][] = [
      [0, 0],
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [-1.5, -0.9661051464753108],
      [2.5, 0.999593047982555],
      [4.5, 0.9999999998033839],
      [-6, -1],
    ]
    for (const [x, expected] of cases) expect(Math.abs(erf(x) - expected)).toBeLessThan(2e-16 * Math.max(1, Math.abs(expected)) * 4)
  })

  it("linear is x·Wᵀ + b and layerNorm normalizes each row", () => {
    const y = linear(Float64Array.from([1, 2, 3, 4, 5, 6]), 2, Float32Array.from([1, 0, 0, 0, 1, 1]), 3, Float32Array.from([10, 20]))
    expect([...y]).toEqual([11, 25, 14, 31])
    const n = layerNorm(Float64Array.from([1, 3]), 1, 2, Float32Array.from([1, 1]), Float32Array.from([0, 0]), 0)
    expect([...n]).toEqual([-1, 1])
  })
})
