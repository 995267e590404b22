import { describe, expect, it } from "vitest"
import { Tensor, loadImage, maxAbsDiff, pilResize, readSafetensors } from "@pagkit/tensor"
import { clipPreprocess, loadClipImageProcessorConfig, parseClipImageProcessorConfig, shortestEdgeSize } from "./clip-image-processor.js"
import { IpAdapterInputError, IpAdapterModelError } from "./errors.js"
import { tinyModel, tinyOracle } from "./internal/fixtures.js"

describe("CLIP image preprocessing", () => {
  it("reproduces the oracle's pixel_values bit for bit", async () => {
    const oracle = await readSafetensors(tinyOracle("ip-adapter-image-embeds.safetensors"), ["pixel_values"])
    const config = await loadClipImageProcessorConfig(tinyModel("tiny-ip-adapter/feature_extractor"))
    const pixelValues = clipPreprocess(await loadImage(tinyOracle("images/ip-ref-48x40.png")), config)
    expect(pixelValues.shape).toEqual([1, 3, 32, 32])
    expect(maxAbsDiff(pixelValues, oracle.get("pixel_values")!)).toBe(0)
  })

  it("sizes the shortest edge like transformers (long side truncated)", () => {
    expect(shortestEdgeSize(48, 40, 32)).toEqual({ width: 38, height: 32 })
    expect(shortestEdgeSize(40, 48, 32)).toEqual({ width: 32, height: 38 })
    expect(shortestEdgeSize(224, 224, 224)).toEqual({ width: 224, height: 224 })
  })

  it("resizes like PIL: constant images stay constant, same-size is a copy", () => {
    const flat = { data: new Uint8Array(7 * 5 * 3).fill(200), width: 7, height: 5, channels: 3 }
    for (const filter of ["bicubic", "lanczos", "bilinear"] as const) {
      const out = pilResize(flat, { width: 3, height: 9, filter })
      expect(out.data.every((v) => v === 200)).toBe(true)
    }
    const copy = pilResize(flat, { width: 7, height: 5, filter: "bicubic" })
    expect(copy.data).toEqual(flat.data)
    expect(copy.data).not.toBe(flat.data)
  })

  it("rejects bad images and configs", () => {
    const config = parseClipImageProcessorConfig({ size: { shortest_edge: 32 }, crop_size: 32 })
    expect(() => clipPreprocess(Tensor.zeros([1, 4, 8, 8]), config)).toThrow(IpAdapterInputError)
    expect(() => parseClipImageProcessorConfig({ resample: 9 })).toThrow(IpAdapterModelError)
    expect(config.cropSize).toEqual({ height: 32, width: 32 })
  })
})
