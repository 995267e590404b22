import { ImageError } from "../errors.js"
import type { Tensor } from "../tensor.js"
import { concat } from "../ops/layout.js"
import { pixelsToTensor, rawSharp, tensorToPixels } from "./pixels.js"

/** Options of {@link resizeImage}. */
export interface ResizeImageOptions {
  /** Target width in pixels. */
  readonly width: number
  /** Target height in pixels. */
  readonly height: number
  /** Resampling filter. Default `"lanczos"` (PIL's default for diffusers' image processor). */
  readonly filter?: "nearest" | "bilinear" | "bicubic" | "lanczos"
}

const kernels = {
  nearest: "nearest",
  bilinear: "linear",
  bicubic: "cubic",
  lanczos: "lanczos3",
} as const

/**
 * Resizes images `[N, C, H, W]` (or `[C, H, W]`) in [0, 1] to exactly `width × height` with libvips
 * (through sharp), on 8-bit pixels as PIL would. Returns float32 `[N, C, height, width]` in [0, 1].
 * Close to, not bit-identical with, PIL's `Image.resize`.
 *
 * @example
 * const small = await resizeImage(image, { width: 64, height: 64, filter: "bicubic" })
 */
export async function resizeImage(images: Tensor, options: ResizeImageOptions): Promise<Tensor<"float32">> {
  const { width, height } = options
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new ImageError("IMAGE_INVALID_TENSOR", `resizeImage: width and height must be positive integers, found ${width} × ${height}.`)
  }
  const kernel = kernels[options.filter ?? "lanczos"]
  const resized = await Promise.all(
    tensorToPixels(images, "resizeImage").map(async (pixels) => {
      const { data, info } = await rawSharp(pixels)
        .resize({ width, height, fit: "fill", kernel })
        .raw()
        .toBuffer({ resolveWithObject: true })
      if (info.channels !== pixels.channels) {
        throw new ImageError(
          "IMAGE_INVALID_TENSOR",
          `resizeImage: libvips returned ${info.channels} channels for a ${pixels.channels}-channel image.`,
        )
      }
      return pixelsToTensor({ data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height, channels: pixels.channels })
    }),
  )
  return concat(resized, 0)
}
