import { describe, expect, it } from "vitest"
import { checkFinite, countNonFinite, describeNonFinite } from "./check-finite.js"
import { TensorError } from "./errors.js"
import { floatToFloat16Bits } from "./ops/cast.js"
import { Tensor } from "./tensor.js"

describe("checkFinite", () => {
  it("passes finite tensors through and ignores integer dtypes", () => {
    const t = Tensor.fromArray([1, -2, 3e38, 0], [4])
    expect(checkFinite(t, "x")).toBe(t)
    expect(countNonFinite(new Tensor("int32", new Int32Array([1, 2]), [2]))).toBeUndefined()
  })

  it("counts NaN and ±Infinity in float32, float64 and float16 and names them", () => {
    const f32 = Tensor.fromArray([0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN], [5])
    expect(countNonFinite(f32)).toEqual({ nan: 2, positiveInfinity: 1, negativeInfinity: 1, firstIndex: 1, size: 5 })
    const f64 = new Tensor("float64", new Float64Array([Number.NaN, 1]), [2])
    expect(countNonFinite(f64)).toMatchObject({ nan: 1, firstIndex: 0 })
    const f16 = new Tensor("float16", Uint16Array.from([1, Number.NaN, Number.NEGATIVE_INFINITY], (v) => floatToFloat16Bits(v)), [3])
    expect(countNonFinite(f16)).toMatchObject({ nan: 1, negativeInfinity: 1, firstIndex: 1 })
    expect(describeNonFinite(countNonFinite(f32)!)).toBe("2 NaN and 1 +Infinity and 1 −Infinity of 5 values")
  })

  it("throws a TensorError with code TENSOR_NON_FINITE naming what was checked", () => {
    const t = Tensor.fromArray([Number.NaN], [1])
    expect(() => checkFinite(t, "the decoded images")).toThrow(TensorError)
    expect(() => checkFinite(t, "the decoded images")).toThrow(/finite values in the decoded images, found 1 NaN of 1 values/)
  })
})
