import { describe, expect, it } from "vitest"
import { Tensor } from "@pagkit/tensor"
import { PredictionShapeError } from "./errors.js"
import { addPredictions, scalePrediction, scaledDifference } from "./guidance-math.js"

describe("guidance arithmetic", () => {
  const a = Tensor.fromArray([0.1, -3.7, 1e-8, 12345.678], [2, 2])
  const b = Tensor.fromArray([0.30000001, 2.5, -1e-8, 0.001], [2, 2])

  it("rounds every float32 operation like torch", () => {
    const f = Math.fround
    const out = scaledDifference(7.3, a, b)
    const expected = [...a.data].map((x, i) => f(f(7.3) * f(x - b.data[i]!)))
    expect([...out.data]).toEqual(expected)
    expect([...addPredictions(a, b).data]).toEqual([...a.data].map((x, i) => f(x + b.data[i]!)))
    expect([...scalePrediction(a, 0.1).data]).toEqual([...a.data].map((x) => f(f(0.1) * x)))
  })

  it("keeps float64 in double precision", () => {
    const x = new Tensor("float64", new Float64Array([0.1, 0.2]), [2])
    const y = new Tensor("float64", new Float64Array([0.3, 0.4]), [2])
    expect([...scaledDifference(3, x, y).data]).toEqual([3 * (0.1 - 0.3), 3 * (0.2 - 0.4)])
  })

  it("rejects mismatched shapes and non-float dtypes", () => {
    expect(() => addPredictions(a, Tensor.zeros([4]))).toThrow(PredictionShapeError)
    expect(() => addPredictions(Tensor.zeros([2], "float16"), Tensor.zeros([2], "float16"))).toThrow(/float16/)
  })
})
