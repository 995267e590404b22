import { describe, expect, it } from "vitest"
import { ShapeError } from "./errors.js"
import { fromNdarray, toNdarray } from "./ndarray.js"
import { Tensor } from "./tensor.js"

describe("toNdarray", () => {
  it("shares the buffer and reports strides", () => {
    const t = Tensor.fromArray([1, 2, 3, 4, 5, 6], [2, 3])
    const view = toNdarray(t)
    expect(view.data).toBe(t.data)
    expect(view).toMatchObject({ shape: [2, 3], stride: [3, 1], offset: 0, dtype: "float32" })
    expect(toNdarray(new Tensor("float16", new Uint16Array(1), [1])).dtype).toBe("uint16")
  })
})

describe("fromNdarray", () => {
  it("shares contiguous data without copying, with or without an offset", () => {
    const data = new Float32Array([0, 1, 2, 3, 4, 5, 6])
    const whole = fromNdarray({ data: data.subarray(0, 6), shape: [2, 3], stride: [3, 1], offset: 0 })
    expect(whole.data.buffer).toBe(data.buffer)
    const shifted = fromNdarray({ data, shape: [3, 2], stride: [2, 1], offset: 1 })
    expect(shifted.data.buffer).toBe(data.buffer)
    expect([...shifted.data]).toEqual([1, 2, 3, 4, 5, 6])
  })

  it("gathers transposed, stepped and reversed views", () => {
    const data = new Float32Array([0, 1, 2, 3, 4, 5])
    const transposed = fromNdarray({ data, shape: [3, 2], stride: [1, 3], offset: 0 })
    expect([...transposed.data]).toEqual([0, 3, 1, 4, 2, 5])
    expect(transposed.data.buffer).not.toBe(data.buffer)
    const reversed = fromNdarray({ data, shape: [6], stride: [-1], offset: 5 })
    expect([...reversed.data]).toEqual([5, 4, 3, 2, 1, 0])
    const stepped = fromNdarray({ data, shape: [3], stride: [2], offset: 1 })
    expect([...stepped.data]).toEqual([1, 3, 5])
  })

  it("round-trips through toNdarray for every dtype", () => {
    const tensors = [
      new Tensor("int64", new BigInt64Array([1n, -2n]), [2]),
      new Tensor("uint8", new Uint8Array([7, 8]), [1, 2]),
      new Tensor("int32", new Int32Array([3]), []),
    ]
    for (const t of tensors) {
      const back = fromNdarray(toNdarray(t))
      expect(back.dtype).toBe(t.dtype)
      expect(back.data).toBe(t.data)
      expect(back.shape).toEqual(t.shape)
    }
    const half = new Tensor("float16", new Uint16Array([0x3c00]), [1])
    expect(fromNdarray(toNdarray(half), { dtype: "float16" }).dtype).toBe("float16")
  })

  it("converts other arrays and checks bounds", () => {
    const plain = fromNdarray({ data: [1, 2, 3, 4], shape: [2, 2], stride: [2, 1], offset: 0 })
    expect(plain.dtype).toBe("float32")
    expect([...plain.data]).toEqual([1, 2, 3, 4])
    const asInt = fromNdarray({ data: new Int16Array([-1, 5]), shape: [2], stride: [1], offset: 0 }, { dtype: "int64" })
    expect([...asInt.data]).toEqual([-1n, 5n])
    expect(() => fromNdarray({ data: new Uint16Array(2), shape: [2], stride: [1], offset: 0 })).toThrow(/ambiguous/)
    expect(() => fromNdarray({ data: new Float32Array(4), shape: [2, 3], stride: [3, 1], offset: 0 })).toThrow(ShapeError)
    expect(() => fromNdarray({ data: new Float32Array(4), shape: [4], stride: [-1], offset: 0 })).toThrow(/reach outside/)
    // fractional strides would read `undefined` (NaN) and negative sizes would fail inside allocation
    expect(() => fromNdarray({ data: new Float32Array(4), shape: [4], stride: [0.5], offset: 0 })).toThrow(/must hold integers/)
    expect(() => fromNdarray({ data: [1, 2], shape: [-1], stride: [1], offset: 0 })).toThrow(ShapeError)
  })
})
