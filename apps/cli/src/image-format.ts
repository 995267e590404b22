import path from "node:path"
import sharp from "sharp"
import { encodePng } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { CliError } from "./errors.js"

/** Output formats, chosen by the file extension. */
export type ImageFormat = "png" | "jpeg" | "webp"

const byExtension: Readonly<Record<string, ImageFormat>> = { ".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp" }

/** Default JPEG/WebP quality. */
export const DEFAULT_QUALITY = 90

/** The format of an output file from its extension (case-insensitive); anything else is a usage error. */
export function formatOf(file: string): ImageFormat {
  const ext = path.extname(file).toLowerCase()
  const format = byExtension[ext]
  if (format === undefined) {
    throw new CliError(`--out ${file}: ${ext === "" ? "no extension" : `unsupported extension "${ext}"`}; use .png, .jpg, .jpeg or .webp (the extension picks the format).`, { code: "OUTPUT_FORMAT" })
  }
  return format
}

/**
 * Encodes `[N, 3, H, W]` images in [0, 1]. Pixels are quantised once, exactly as diffusers' `numpy_to_pil` does
 * (via `encodePng`); JPEG and WebP are transcoded from those pixels with sharp.
 */
export async function encodeImages(images: Tensor, format: ImageFormat, quality = DEFAULT_QUALITY): Promise<Uint8Array[]> {
  const pngs = await encodePng(images)
  if (format === "png") return pngs
  return Promise.all(
    pngs.map(async (png) => {
      const image = sharp(png)
      const buffer = await (format === "jpeg" ? image.jpeg({ quality }) : image.webp({ quality })).toBuffer()
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length)
    }),
  )
}

/** Encodes already-encoded PNG bytes to another format (the comparison grid). */
export async function transcodePng(png: Uint8Array, format: ImageFormat, quality = DEFAULT_QUALITY): Promise<Uint8Array> {
  if (format === "png") return png
  const image = sharp(png)
  const buffer = await (format === "jpeg" ? image.jpeg({ quality }) : image.webp({ quality })).toBuffer()
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length)
}
