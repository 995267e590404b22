import sharp from "sharp"
import { ImageError } from "../errors.js"
import type { Tensor } from "../tensor.js"
import type { Pixels } from "./pixels.js"
import { pixelsToTensor } from "./pixels.js"

/** A path to an image file or its encoded bytes (PNG, JPEG, WebP, and whatever else libvips reads). */
export type ImageSource = string | Uint8Array

function describeSource(source: ImageSource): string {
  return typeof source === "string" ? source : `an in-memory image (${source.length} bytes)`
}

/**
 * Decodes to 8-bit RGB the way diffusers' `load_image` + PIL `convert("RGB")` does: EXIF orientation
 * applied, alpha dropped (not composited), grayscale and palette expanded, embedded ICC profile ignored.
 */
export async function decodeRgb(source: ImageSource): Promise<Pixels> {
  try {
    const { data, info } = await sharp(source, { autoOrient: true, ignoreIcc: true, failOn: "error" })
      .removeAlpha()
      .toColourspace("srgb")
      .raw()
      .toBuffer({ resolveWithObject: true })
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.length)
    if (info.channels === 3) return { data: bytes, width: info.width, height: info.height, channels: 3 }
    // single-band output: expand gray to RGB
    const rgb = new Uint8Array(info.width * info.height * 3)
    for (let p = 0; p < info.width * info.height; p++) rgb.fill(bytes[p * info.channels]!, p * 3, p * 3 + 3)
    return { data: rgb, width: info.width, height: info.height, channels: 3 }
  } catch (cause) {
    throw new ImageError(
      "IMAGE_UNREADABLE",
      `cannot read image ${describeSource(source)}: ${(cause as Error).message}. Pass a readable PNG, JPEG or WebP file.`,
      { cause },
    )
  }
}

/**
 * Loads an image as a float32 `[1, 3, H, W]` tensor in [0, 1] (RGB, `pixel / 255`), as diffusers'
 * `VaeImageProcessor` sees it before normalisation.
 *
 * @example
 * const init = await loadImage("init.png") // Tensor<"float32"> [1, 3, H, W]
 */
export async function loadImage(source: ImageSource): Promise<Tensor<"float32">> {
  return pixelsToTensor(await decodeRgb(source))
}

/**
 * Loads an image as a float32 `[1, 1, H, W]` luminance tensor in [0, 1], computed like PIL's
 * `convert("L")` (ITU-R 601-2: `(R·19595 + G·38470 + B·7471 + 0x8000) >> 16`), for masks.
 */
export async function loadImageGray(source: ImageSource): Promise<Tensor<"float32">> {
  const rgb = await decodeRgb(source)
  const plane = rgb.width * rgb.height
  const gray = new Uint8Array(plane)
  for (let p = 0; p < plane; p++) {
    const r = rgb.data[p * 3]!
    const g = rgb.data[p * 3 + 1]!
    const b = rgb.data[p * 3 + 2]!
    gray[p] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16
  }
  return pixelsToTensor({ data: gray, width: rgb.width, height: rgb.height, channels: 1 })
}
