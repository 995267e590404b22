import sharp from "sharp"
import { ImageError } from "../errors.js"
import { Tensor } from "../tensor.js"
import { float32Data } from "../ops/cast.js"

/** One image as interleaved 8-bit pixels (`[H, W, C]` row-major), the layout sharp reads and writes. */
export interface Pixels {
  readonly data: Uint8Array
  readonly width: number
  readonly height: number
  readonly channels: 1 | 3 | 4
}

/** numpy's `round` (half to even), as in diffusers' `numpy_to_pil`: `(images * 255).round()`. */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value)
  const fraction = value - floor
  if (fraction > 0.5) return floor + 1
  if (fraction < 0.5) return floor
  return floor % 2 === 0 ? floor : floor + 1
}

/**
 * Splits an image tensor — `[N, C, H, W]` or `[C, H, W]`, C in {1, 3, 4} — into 8-bit pixel buffers.
 * Float values are clamped to [0, 1] and mapped like diffusers' `numpy_to_pil` (`(x * 255).round()`
 * in float32, half to even); uint8 tensors are taken as 0..255.
 */
export function tensorToPixels(image: Tensor, what: string): Pixels[] {
  const shape = image.rank === 3 ? [1, ...image.shape] : image.shape
  const [n, c, h, w] = shape as [number, number, number, number]
  if (shape.length !== 4 || (c !== 1 && c !== 3 && c !== 4) || h === 0 || w === 0) {
    throw new ImageError(
      "IMAGE_INVALID_TENSOR",
      `${what}: expected an image tensor [N, C, H, W] or [C, H, W] with C = 1, 3 or 4 and non-empty H, W; ` +
        `found ${image.describe()}. Permute [N, H, W, C] tensors with permute(t, [0, 3, 1, 2]) first.`,
    )
  }
  const values = image.dtype === "uint8" ? (image.data as Uint8Array) : float32Data(image)
  const plane = h * w
  const result: Pixels[] = []
  for (let b = 0; b < n; b++) {
    const data = new Uint8Array(plane * c)
    for (let ch = 0; ch < c; ch++) {
      const base = (b * c + ch) * plane
      for (let p = 0; p < plane; p++) {
        const v = values[base + p]!
        data[p * c + ch] =
          image.dtype === "uint8" ? v
          : v > 0 ? (v < 1 ? roundHalfEven(Math.fround(v * 255)) : 255)
          : 0 // also NaN
      }
    }
    result.push({ data, width: w, height: h, channels: c })
  }
  return result
}

/** Interleaved 8-bit pixels (any channel count) to a float32 `[1, C, H, W]` tensor in [0, 1] (`x / 255` in float32). */
export function pixelsToTensor(pixels: Omit<Pixels, "channels"> & { readonly channels: number }): Tensor<"float32"> {
  const { data, width, height, channels } = pixels
  const plane = width * height
  const out = new Float32Array(plane * channels)
  for (let ch = 0; ch < channels; ch++) {
    for (let p = 0; p < plane; p++) out[ch * plane + p] = data[p * channels + ch]! / 255
  }
  return new Tensor("float32", out, [1, channels, height, width])
}

/** A sharp pipeline over raw pixels; one-channel images stay grayscale on output. */
export function rawSharp(pixels: Pixels): sharp.Sharp {
  const pipeline = sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: pixels.channels } })
  return pixels.channels === 1 ? pipeline.toColourspace("b-w") : pipeline
}
