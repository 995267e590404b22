// Pixel-level helpers shared by the image processors (NCHW float32 tensors).
import { Tensor } from "@pagkit/tensor"

/** PIL's `convert("L")` on 8-bit RGB: `(R·19595 + G·38470 + B·7471 + 0x8000) >> 16` (ITU-R 601-2 luma). */
export function lumaU8(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16
}

/** A [0, 1] float as the 8-bit value it came from. */
export function toU8(x: number): number {
  return Math.min(255, Math.max(0, Math.round(x * 255)))
}

/**
 * Grayscale `[N, 1, H, W]` from `[N, 1|3|4, H, W]` in [0, 1], the way PIL converts RGB to "L"
 * (on 8-bit values; alpha ignored).
 */
export function toGrayscale(images: Tensor<"float32">): Tensor<"float32"> {
  const [n, c, h, w] = images.shape as [number, number, number, number]
  if (c === 1) return images
  const plane = h * w
  const out = new Float32Array(n * plane)
  for (let b = 0; b < n; b++) {
    const base = b * c * plane
    for (let i = 0; i < plane; i++) {
      const r = toU8(images.data[base + i]!)
      const g = toU8(images.data[base + plane + i]!)
      const bl = toU8(images.data[base + 2 * plane + i]!)
      out[b * plane + i] = Math.fround(lumaU8(r, g, bl) / 255)
    }
  }
  return new Tensor("float32", out, [n, 1, h, w])
}

/** Crop `[N, C, H, W]` to the box `[x1, y1, x2, y2)` (PIL `crop`; parts outside the image are zeros). */
export function cropImages(
  images: Tensor<"float32">,
  box: readonly [number, number, number, number],
): Tensor<"float32"> {
  const [n, c, h, w] = images.shape as [number, number, number, number]
  const [x1, y1, x2, y2] = box
  const ow = x2 - x1
  const oh = y2 - y1
  const out = new Float32Array(n * c * oh * ow)
  for (let p = 0; p < n * c; p++) {
    for (let y = 0; y < oh; y++) {
      const sy = y + y1
      if (sy < 0 || sy >= h) continue
      for (let x = 0; x < ow; x++) {
        const sx = x + x1
        if (sx < 0 || sx >= w) continue
        out[(p * oh + y) * ow + x] = images.data[(p * h + sy) * w + sx]!
      }
    }
  }
  return new Tensor("float32", out, [n, c, oh, ow])
}

/** Paste `src` `[N, C, h, w]` into `dst` `[N, C, H, W]` (a copy) with its top-left corner at (x, y), clipped. */
export function pasteImages(
  dst: Tensor<"float32">,
  src: Tensor<"float32">,
  [x, y]: readonly [number, number],
): Tensor<"float32"> {
  const [n, c, h, w] = dst.shape as [number, number, number, number]
  const [, , sh, sw] = src.shape as [number, number, number, number]
  const out = dst.data.slice()
  for (let p = 0; p < n * c; p++) {
    for (let yy = 0; yy < sh; yy++) {
      const dy = yy + y
      if (dy < 0 || dy >= h) continue
      for (let xx = 0; xx < sw; xx++) {
        const dx = xx + x
        if (dx < 0 || dx >= w) continue
        out[(p * h + dy) * w + dx] = src.data[(p * sh + yy) * sw + xx]!
      }
    }
  }
  return new Tensor("float32", out, dst.shape)
}
