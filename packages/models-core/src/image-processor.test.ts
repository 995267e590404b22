import { describe, expect, it } from "vitest"
import { Tensor, loadImage } from "@pagkit/tensor"
import { applyOverlay, getCropRegion } from "./crop-region.js"
import { ImageSizeError, ModelInputError } from "./errors.js"
import { defaultHeightWidth, maskImage, preprocessImage, preprocessMask, resizeImages } from "./image-processor.js"
import { checkImageSize } from "./image-size.js"
import { tinyOracle } from "./internal/fixtures.js"
import { postprocessImages, toNchw, toNhwc } from "./postprocess.js"

function filled(shape: number[], f: (i: number) => number): Tensor<"float32"> {
  const n = shape.reduce((a, b) => a * b, 1)
  return new Tensor("float32", Float32Array.from({ length: n }, (_, i) => f(i)), shape)
}

/** A [1, 1, h, w] mask with ones in the box [x1, y1, x2, y2). */
function boxMask(h: number, w: number, [x1, y1, x2, y2]: [number, number, number, number]): Tensor<"float32"> {
  return filled([1, 1, h, w], (i) => {
    const y = Math.floor(i / w)
    const x = i % w
    return x >= x1 && x < x2 && y >= y1 && y < y2 ? 1 : 0
  })
}

describe("preprocessImage", () => {
  it("normalizes [0, 1] to [-1, 1] and rounds sizes down to the VAE scale factor", async () => {
    const image = filled([1, 3, 13, 10], (i) => (i % 5) / 4)
    expect(defaultHeightWidth(image, 8)).toEqual({ height: 8, width: 8 })
    const out = await preprocessImage(image, { vaeScaleFactor: 8 })
    expect(out.shape).toEqual([1, 3, 8, 8])
    expect(out.data[0]).toBe(-1) // source 0 → -1
    expect(out.data[1]).toBe(-0.5) // source 0.25 → -0.5
    expect(Math.max(...out.data)).toBeLessThanOrEqual(1)
    const sized = await preprocessImage([image, image], { vaeScaleFactor: 2, height: 6, width: 4 })
    expect(sized.shape).toEqual([2, 3, 6, 4])
  })

  it("passes latents through and does not renormalize [-1, 1] input", async () => {
    const latents = filled([1, 4, 8, 8], (i) => i)
    expect(await preprocessImage(latents, { vaeScaleFactor: 8 })).toBe(latents)
    const signed = filled([1, 3, 8, 8], (i) => (i % 2 === 0 ? -0.5 : 0.5))
    expect(Array.from((await preprocessImage(signed, { vaeScaleFactor: 8 })).data)).toEqual(Array.from(signed.data))
  })

  it("loads a PNG the way diffusers sees it (values k/255, normalized)", async () => {
    const image = await preprocessImage(await loadImage(tinyOracle("images/init-64.png")), { vaeScaleFactor: 2 })
    expect(image.shape).toEqual([1, 3, 64, 64])
    for (const v of image.data.subarray(0, 50)) expect(Math.abs(((v + 1) / 2) * 255 - Math.round(((v + 1) / 2) * 255))).toBeLessThan(1e-3)
  })

  it("crop and fill modes keep the aspect ratio", async () => {
    const wide = filled([1, 1, 4, 8], (i) => (i % 8) / 8) // 8 wide, 4 high
    const crop = await resizeImages(wide, { height: 4, width: 4, resizeMode: "crop" })
    expect(crop.shape).toEqual([1, 1, 4, 4])
    // resized to 8x4 then centered: columns 2..5 of the source
    expect(Array.from(crop.data.subarray(0, 4))).toEqual([2 / 8, 3 / 8, 4 / 8, 5 / 8])
    const fill = await resizeImages(wide, { height: 8, width: 8, resizeMode: "fill" })
    expect(fill.shape).toEqual([1, 1, 8, 8])
    // the image sits in rows 2..5; rows 0..1 repeat its first row
    expect(Array.from(fill.data.subarray(0, 8))).toEqual(Array.from(fill.data.subarray(16, 24)))
  })
})

describe("preprocessMask", () => {
  it("converts RGB masks with PIL's luma and binarizes at 0.5", async () => {
    const rgb = new Tensor("float32", Float32Array.from([1, 0, 0.6, 0.6, 0, 1, 0.6, 0.4, 0, 0, 0.6, 0.2]), [1, 3, 2, 2])
    const mask = await preprocessMask(rgb, { vaeScaleFactor: 1 })
    expect(mask.shape).toEqual([1, 1, 2, 2])
    // red → 76/255 < 0.5, green → 150/255 ≥ 0.5, gray 0.6 → 1, (0.6, 0.4, 0.2) → luma ≈ 0.46 → 0
    expect(Array.from(mask.data)).toEqual([0, 1, 1, 0])
    const fromPng = await preprocessMask(await loadImage(tinyOracle("images/mask-64.png")), { vaeScaleFactor: 2 })
    expect(fromPng.shape).toEqual([1, 1, 64, 64])
    expect(fromPng.data.some((v) => v === 1) && fromPng.data.some((v) => v === 0)).toBe(true)
  })

  it("masks the image where the mask is set", () => {
    const image = filled([1, 3, 2, 2], () => 0.5)
    const mask = new Tensor("float32", Float32Array.from([1, 0, 0, 1]), [1, 1, 2, 2])
    expect(Array.from(maskImage(image, mask).data.subarray(0, 4))).toEqual([0, 0.5, 0.5, 0])
  })
})

describe("padding_mask_crop helpers", () => {
  it("getCropRegion matches diffusers' box arithmetic", () => {
    expect(getCropRegion(boxMask(64, 64, [10, 30, 20, 34]), 64, 64)).toEqual([10, 27, 20, 37])
    expect(getCropRegion(boxMask(64, 64, [0, 60, 20, 64]), 64, 64)).toEqual([0, 44, 20, 64])
    expect(getCropRegion(boxMask(64, 64, [30, 10, 34, 40]), 64, 64, 2)).toEqual([15, 8, 49, 42])
  })

  it("getCropRegion rejects a mask with nothing masked instead of returning an inverted box", () => {
    const empty = Tensor.zeros([1, 1, 64, 64])
    expect(() => getCropRegion(empty, 64, 64, 4)).toThrow(ModelInputError)
    expect(() => getCropRegion(empty, 64, 64, 4)).toThrow(/no masked \(non-zero\) pixel/)
    // one masked pixel is enough
    expect(getCropRegion(boxMask(64, 64, [5, 5, 6, 6]), 64, 64)).toEqual([5, 5, 6, 6])
  })

  it("applyOverlay keeps the original outside the mask", async () => {
    const original = filled([1, 3, 4, 4], () => 0.25)
    const generated = filled([1, 3, 4, 4], () => 0.75)
    const mask = boxMask(4, 4, [0, 0, 2, 4])
    const out = await applyOverlay(mask, original, generated)
    expect(Array.from(out.data.subarray(0, 4))).toEqual([0.75, 0.75, 0.25, 0.25])
  })

  it("applyOverlay overlays every generated image of a batch, with and without a crop box", async () => {
    const original = filled([1, 3, 4, 4], () => 0.25)
    const generated = filled([2, 3, 4, 4], (i) => (i < 48 ? 0.75 : 0.5)) // image 0: 0.75, image 1: 0.5
    const mask = boxMask(4, 4, [0, 0, 2, 4])
    const out = await applyOverlay(mask, original, generated)
    expect(out.shape).toEqual([2, 3, 4, 4])
    expect(Array.from(out.data.subarray(0, 4))).toEqual([0.75, 0.75, 0.25, 0.25])
    expect(Array.from(out.data.subarray(48, 52))).toEqual([0.5, 0.5, 0.25, 0.25])
    // crop box = the masked left half: each generated 4×4 image is fitted into it (2 wide, 4 high)
    const cropped = await applyOverlay(mask, original, generated, { cropsCoords: [0, 0, 2, 4] })
    expect(cropped.shape).toEqual([2, 3, 4, 4])
    expect(Array.from(cropped.data.subarray(0, 4))).toEqual([0.75, 0.75, 0.25, 0.25])
    expect(Array.from(cropped.data.subarray(48, 52))).toEqual([0.5, 0.5, 0.25, 0.25])
    await expect(applyOverlay(mask, filled([3, 3, 4, 4], () => 0), generated)).rejects.toThrow(ModelInputError)
  })
})

describe("sizes and output layouts", () => {
  it("checkImageSize names the nearest valid sizes", () => {
    expect(() => checkImageSize(1024, 1024, { vaeScaleFactor: 8, latentMultiple: 4 })).not.toThrow()
    expect(() => checkImageSize(1000, 1024, { vaeScaleFactor: 8, latentMultiple: 4 })).toThrow(/height 1000.*use 992 or 1024/)
    expect(() => checkImageSize(16, 4, { vaeScaleFactor: 8, latentMultiple: 1 })).toThrow(ImageSizeError)
  })

  it("np layout is NHWC and round-trips", () => {
    const images = filled([2, 3, 2, 5], (i) => i)
    const np = postprocessImages(images, "np")
    expect(np.shape).toEqual([2, 2, 5, 3])
    expect(np.data[1]).toBe(10) // pixel (0, 0), channel 1
    expect(Array.from(toNchw(np).data)).toEqual(Array.from(images.data))
    expect(toNhwc(images).shape).toEqual([2, 2, 5, 3])
    expect(postprocessImages(images, "pt")).toBe(images)
  })
})
