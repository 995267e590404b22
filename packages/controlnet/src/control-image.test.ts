import { describe, expect, it } from "vitest"
import { Tensor, loadImage } from "@pagkit/tensor"
import { pilLanczosResizer, prepareControlImage } from "./control-image.js"
import { ControlImageError } from "./errors.js"
import { tinyOracle } from "./internal/fixtures.js"

describe("prepareControlImage", () => {
  it("keeps a control image at the output size unchanged, in [0, 1], and repeats it to the batch", async () => {
    const image = await loadImage(tinyOracle("images/control-edges-64.png"))
    const prepared = await prepareControlImage(image, { height: 64, width: 64, vaeScaleFactor: 2, batchSize: 2 })
    expect(prepared.shape).toEqual([2, 3, 64, 64])
    expect(Array.from(prepared.data.subarray(0, image.size))).toEqual(Array.from(image.data))
    expect(Array.from(prepared.data.subarray(image.size))).toEqual(Array.from(image.data))
  })

  it("resizes with PIL's Lanczos on 8-bit values, rounding sizes down to the VAE factor", async () => {
    const image = await loadImage(tinyOracle("images/control-edges-64.png"))
    const prepared = await prepareControlImage(image, { height: 37, width: 50, vaeScaleFactor: 8 })
    expect(prepared.shape).toEqual([1, 3, 32, 48])
    for (const v of prepared.data) {
      expect(v).toBeGreaterThanOrEqual(0)
      expect(v).toBeLessThanOrEqual(1)
      expect(Math.abs(v * 255 - Math.round(v * 255))).toBeLessThan(1e-4)
    }
    // a flat image stays flat under Lanczos (weights are normalised)
    const flat = new Tensor("float32", new Float32Array(3 * 20 * 30).fill(128 / 255), [1, 3, 20, 30])
    const out = await pilLanczosResizer(flat, { width: 13, height: 41 })
    expect(new Set(out.data)).toEqual(new Set([Math.fround(128 / 255)]))
  })

  it("expands gray to RGB and rejects other channel counts and empty sizes", async () => {
    const gray = new Tensor("float32", new Float32Array(16).fill(0.5), [1, 1, 4, 4])
    expect((await prepareControlImage(gray, { vaeScaleFactor: 2 })).shape).toEqual([1, 3, 4, 4])
    await expect(prepareControlImage(Tensor.zeros([1, 4, 8, 8]), { vaeScaleFactor: 2 })).rejects.toThrow(ControlImageError)
    await expect(prepareControlImage(Tensor.zeros([1, 3, 8, 8]), { vaeScaleFactor: 8, height: 4 })).rejects.toThrow(/positive/)
  })
})
