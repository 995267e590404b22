import { Tensor, interpolate } from "@pagkit/tensor"
import { PixArtInputError } from "./errors.js"

/**
 * Resizes images `[N, C, H, W]` to cover `height × width` (bilinear, `align_corners=False`, no antialias) and
 * center-crops them to it: the step that brings binned PixArt images back to the requested size.
 * Port of diffusers `image_processor.py` `PixArtImageProcessor.resize_and_crop_tensor`.
 *
 * @example
 * resizeAndCropImages(decoded, 768, 1360) // [N, 3, 768, 1344] -> [N, 3, 768, 1360]
 */
export function resizeAndCropImages(images: Tensor<"float32">, height: number, width: number): Tensor<"float32"> {
  if (images.rank !== 4) throw new PixArtInputError(`resizeAndCropImages expects [N, C, H, W] images, found ${images.describe()}.`)
  const [n, c, origHeight, origWidth] = images.shape as [number, number, number, number]
  if (origHeight === height && origWidth === width) return images
  const ratio = Math.max(height / origHeight, width / origWidth)
  const resizedWidth = Math.trunc(origWidth * ratio)
  const resizedHeight = Math.trunc(origHeight * ratio)
  const resized = interpolate(images, { size: [resizedHeight, resizedWidth], mode: "bilinear", alignCorners: false })
  const startX = Math.floor((resizedWidth - width) / 2)
  const startY = Math.floor((resizedHeight - height) / 2)
  // The crop is clamped to the resized image. When int() truncation leaves a side one short (e.g. 704 → 391 for
  // 392), the start is −1: Python would read that from the end (diffusers then keeps 1 row), this keeps 0…end.
  const y0 = Math.max(0, startY)
  const x0 = Math.max(0, startX)
  const y1 = Math.min(resizedHeight, startY + height)
  const x1 = Math.min(resizedWidth, startX + width)
  const outH = Math.max(0, y1 - y0)
  const outW = Math.max(0, x1 - x0)
  const out = new Float32Array(n * c * outH * outW)
  for (let plane = 0; plane < n * c; plane++) {
    for (let y = 0; y < outH; y++) {
      const src = plane * resizedHeight * resizedWidth + (y0 + y) * resizedWidth + x0
      out.set(resized.data.subarray(src, src + outW), plane * outH * outW + y * outW)
    }
  }
  return new Tensor("float32", out, [n, c, outH, outW])
}
