// Interop with the real scijs packages users reach for: ndarray itself, ndarray-ops, ndarray-pack, zeros.
import { createRequire } from "node:module"
import ndarray from "ndarray"
import ops from "ndarray-ops"
import { describe, expect, it } from "vitest"
import { fromNdarray, toNdarray } from "./ndarray.js"
import { TorchGenerator } from "./random/index.js"
import { Tensor } from "./tensor.js"

// ndarray-pack and zeros ship no types
const require = createRequire(import.meta.url)
const pack = require("ndarray-pack") as (nested: unknown, out?: ndarray.NdArray) => ndarray.NdArray
const zeros = require("zeros") as (shape: number[], dtype?: string) => ndarray.NdArray

describe("toNdarray gives a real scijs ndarray", () => {
  it("indexes, slices and transposes over the tensor's buffer", () => {
    const t = Tensor.fromArray([0, 1, 2, 3, 4, 5], [2, 3])
    const view = toNdarray(t)
    expect(view.constructor.name).toMatch(/^View2dfloat32$/)
    expect(view.dtype).toBe("float32")
    expect(view.get(1, 2)).toBe(5)
    view.set(0, 1, 10)
    expect(t.data[1]).toBe(10) // shared, no copy
    expect(view.transpose(1, 0).get(2, 0)).toBe(2)
    expect(fromNdarray(view.pick(null, 1)).data).toEqual(new Float32Array([10, 4]))
  })

  it("ndarray-ops works on a latent in place (scale by the VAE factor, clamp, reduce)", () => {
    const latents = new TorchGenerator(0).randn([1, 4, 8, 8]) // [batch, 4, h, w]
    const before = Float32Array.from(latents.data)
    const view = toNdarray(latents)
    ops.mulseq(view, 0.13025)
    for (let i = 0; i < before.length; i++) expect(latents.data[i]).toBe(Math.fround(before[i]! * 0.13025))
    // one channel, through a pick: channel 2's values clamped to [-0.1, 0.1]
    const channel = view.pick(0, 2, null, null)
    ops.maxseq(channel, -0.1)
    ops.minseq(channel, 0.1)
    expect(Math.max(...latents.data.subarray(128, 192).map(Math.abs))).toBeLessThanOrEqual(Math.fround(0.1))
    expect(ops.sum(view)).toBeCloseTo(
      latents.data.reduce((a, b) => a + b, 0),
      3,
    )
    expect(ops.sup(view)).toBe(Math.max(...latents.data))
  })

  it("keeps float16 bits and int64 as scijs dtypes", () => {
    expect(toNdarray(new Tensor("float16", new Uint16Array([0x3c00]), [1])).dtype).toBe("uint16")
    expect(toNdarray(new Tensor("int64", new BigInt64Array([3n]), [1])).dtype).toBe("bigint64")
  })
})

describe("fromNdarray takes what scijs modules build", () => {
  it("ndarray-pack: nested arrays to a tensor", () => {
    const packed = pack([
      [1, 2, 3],
      [4, 5, 6],
    ])
    const t = fromNdarray(packed)
    expect(t.shape).toEqual([2, 3])
    expect([...t.data]).toEqual([1, 2, 3, 4, 5, 6])
  })

  it("zeros + ndarray-ops fill: a mask of the shape a pipeline takes, sharing its buffer", () => {
    const mask = zeros([1, 1, 64, 64], "float32") // [batch, 1, H, W]
    ops.assigns(mask.hi(1, 1, 32, 64), 1) // top half white
    const t = fromNdarray(mask)
    expect(t.dtype).toBe("float32")
    expect(t.shape).toEqual([1, 1, 64, 64])
    expect(t.data.buffer).toBe((mask.data as Float32Array).buffer)
    expect(t.data.subarray(0, 32 * 64).every((v) => v === 1)).toBe(true)
    expect(t.data.subarray(32 * 64).every((v) => v === 0)).toBe(true)
  })

  it("gathers a transposed, stepped or generic ndarray", () => {
    const base = ndarray(new Float32Array([0, 1, 2, 3, 4, 5]), [2, 3])
    expect([...fromNdarray(base.transpose(1, 0)).data]).toEqual([0, 3, 1, 4, 2, 5])
    expect([...fromNdarray(base.step(1, -1)).data]).toEqual([2, 1, 0, 5, 4, 3])
    const generic = ndarray({ length: 3, get: (i: number) => i * 2, set: () => undefined }, [3])
    expect(generic.dtype).toBe("generic")
    expect([...fromNdarray(generic).data]).toEqual([0, 2, 4])
  })
})
