import { describe, expect, it } from "vitest"
import { Tensor } from "@pagkit/tensor"
import { PredictionShapeError } from "@pagkit/guidance"
import { rescaleNoiseCfg } from "./rescale.js"

function noise(seed: number, shape: number[]): Tensor<"float32"> {
  const n = shape.reduce((a, b) => a * b, 1)
  let s = seed
  const values = Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 6 - 3)
  return Tensor.fromArray(values, shape)
}

/** Unbiased std of one sample, in double: the textbook formula, written independently. */
function std(values: ArrayLike<number>): number {
  const list = Array.from(values)
  const mean = list.reduce((a, b) => a + b, 0) / list.length
  return Math.sqrt(list.reduce((a, b) => a + (b - mean) ** 2, 0) / (list.length - 1))
}

describe("rescaleNoiseCfg", () => {
  const guided = noise(1, [2, 4, 3, 3])
  const text = noise(2, [2, 4, 3, 3])
  const sample = (t: Tensor, b: number): Float32Array => (t.data as Float32Array).subarray(b * 36, (b + 1) * 36)

  it("with r = 1 gives each sample the std of the conditional prediction", () => {
    const out = rescaleNoiseCfg(guided, text, 1)
    for (const b of [0, 1]) expect(std(sample(out, b)) / std(sample(text, b))).toBeCloseTo(1, 6)
  })

  it("with r = 0 leaves the prediction unchanged", () => {
    expect([...rescaleNoiseCfg(guided, text, 0).data]).toEqual([...guided.data])
  })

  it("mixes r·rescaled + (1 − r)·guided per sample, matching the float32 reference", () => {
    const r = 0.7
    const f = Math.fround
    const out = rescaleNoiseCfg(guided, text, r)
    for (const b of [0, 1]) {
      const ratio = f(f(std(sample(text, b))) / f(std(sample(guided, b))))
      const expected = [...sample(guided, b)].map((x) => f(f(f(r) * f(x * ratio)) + f(f(1 - r) * x)))
      expect([...sample(out, b)]).toEqual(expected)
    }
  })

  it("rejects predictions of different shapes", () => {
    expect(() => rescaleNoiseCfg(guided, noise(3, [1, 4, 3, 3]), 0.5)).toThrow(PredictionShapeError)
  })
})
