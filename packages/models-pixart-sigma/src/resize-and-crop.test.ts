import { describe, expect, it } from "vitest"
import { Tensor } from "@pagkit/tensor"
import { resizeAndCropImages } from "./resize-and-crop.js"

function ramp(n: number, c: number, h: number, w: number): Tensor<"float32"> {
  return new Tensor("float32", Float32Array.from({ length: n * c * h * w }, (_, i) => (i % (h * w)) / (h * w)), [n, c, h, w])
}

describe("resizeAndCropImages (PixArtImageProcessor.resize_and_crop_tensor)", () => {
  it("returns the images unchanged at the same size", () => {
    const images = ramp(1, 3, 4, 6)
    expect(resizeAndCropImages(images, 4, 6)).toBe(images)
  })

  it("scales to cover, then center-crops", () => {
    // 4×8 -> 4×6: ratio max(1, 0.75) = 1, no resize, crop columns 1..6
    const images = ramp(2, 3, 4, 8)
    const out = resizeAndCropImages(images, 4, 6)
    expect(out.shape).toEqual([2, 3, 4, 6])
    expect(out.get(1, 2, 3, 0)).toBeCloseTo(images.get(1, 2, 3, 1), 6)
    expect(out.get(0, 0, 0, 5)).toBeCloseTo(images.get(0, 0, 0, 6), 6)
  })

  it("upscales bilinearly (align_corners=False): constant planes stay constant", () => {
    const constant = new Tensor("float32", new Float32Array(2 * 3 * 4).fill(0.25), [1, 2, 3, 4])
    const out = resizeAndCropImages(constant, 7, 8) // ratio max(7/3, 2) -> 7×9, crop to 7×8
    expect(out.shape).toEqual([1, 2, 7, 8])
    expect([...out.data].every((v) => Math.abs(v - 0.25) < 1e-7)).toBe(true)
  })
})
