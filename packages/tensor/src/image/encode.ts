import { ImageError } from "../errors.js"
import type { Tensor } from "../tensor.js"
import { rawSharp, tensorToPixels } from "./pixels.js"

/**
 * Encodes each image of `[N, C, H, W]` (or one `[C, H, W]`) as PNG bytes. Float values are clamped to
 * [0, 1] and quantised like diffusers' `numpy_to_pil`; C = 1 (gray), 3 (RGB) or 4 (RGBA).
 *
 * @example
 * const [png] = await encodePng(images) // images: float32 [1, 3, H, W] in [0, 1]
 */
export async function encodePng(images: Tensor): Promise<Uint8Array[]> {
  const all = tensorToPixels(images, "encodePng")
  return Promise.all(
    all.map(async (pixels) => {
      const buffer = await rawSharp(pixels).png().toBuffer()
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length)
    }),
  )
}

/**
 * Writes one image (`[1, C, H, W]` or `[C, H, W]`) to a file; the format follows the extension
 * (`.png`, `.jpg`, `.webp`, …). Use {@link encodePng} for batches.
 */
export async function saveImage(image: Tensor, path: string): Promise<void> {
  const all = tensorToPixels(image, "saveImage")
  const pixels = all[0]
  if (all.length !== 1 || pixels === undefined) {
    throw new ImageError(
      "IMAGE_INVALID_TENSOR",
      `saveImage: expected one image, found a batch of ${all.length} (${image.describe()}). ` +
        "Select one with select(t, 0, i) or encode the batch with encodePng.",
    )
  }
  try {
    await rawSharp(pixels).toFile(path)
  } catch (cause) {
    throw new ImageError(
      "IMAGE_WRITE_FAILED",
      `cannot write image ${path}: ${(cause as Error).message}. Check the folder exists and the extension is .png, .jpg or .webp.`,
      { cause },
    )
  }
}
