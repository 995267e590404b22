import { Tensor, concat, interpolate, resizeImage } from "@pagkit/tensor"
import { ImageSizeError, ModelInputError } from "./errors.js"
import { cropImages, pasteImages, toGrayscale } from "./internal/pixels.js"
import { normalizeImages } from "./vae.js"

/** Resizes `[N, C, H, W]` images in [0, 1] to a size. Pass one backed by a real filter (e.g. Lanczos) to match PIL. */
export type ImageResizer = (
  images: Tensor<"float32">,
  size: { readonly width: number; readonly height: number },
) => Tensor<"float32"> | Promise<Tensor<"float32">>

/** torch `F.interpolate(mode="nearest")`: what diffusers' `VaeImageProcessor.resize` does for tensor inputs. */
export const nearestResizer: ImageResizer = (images, { width, height }) =>
  interpolate(images, { size: [height, width], mode: "nearest" })

/**
 * Lanczos resampling through `@pagkit/tensor`'s `resizeImage` (libvips on 8-bit pixels): close to what diffusers
 * does for PIL inputs (`resample="lanczos"`), not bit-identical.
 */
export const lanczosResizer: ImageResizer = (images, { width, height }) =>
  resizeImage(images, { width, height, filter: "lanczos" })

/** How {@link preprocessImage} fits an image to the target size (diffusers' `resize_mode`). */
export type ResizeMode = "default" | "fill" | "crop"

/** Options of {@link preprocessImage} and {@link preprocessMask}. */
export interface PreprocessOptions {
  /** Pixels per latent cell: sizes are rounded down to a multiple of it. */
  readonly vaeScaleFactor: number
  /** Target height; default the image's, rounded down to a multiple of the scale factor. */
  readonly height?: number | undefined
  /** Target width; default the image's, rounded down. */
  readonly width?: number | undefined
  /** Default `"default"` (stretch). `"fill"` / `"crop"` keep the aspect ratio. */
  readonly resizeMode?: ResizeMode
  /** Crop box `[x1, y1, x2, y2]` applied before resizing (from {@link getCropRegion}). */
  readonly cropsCoords?: readonly [number, number, number, number] | undefined
  /** Default {@link nearestResizer}. */
  readonly resize?: ImageResizer
  /** Inputs with this many channels are latents and pass through unchanged. Default 4. */
  readonly latentChannels?: number
}

/** One image tensor `[N, C, H, W]` or a list of them. @inline */
type ImageInput = Tensor<"float32"> | readonly Tensor<"float32">[]

function toBatch(image: ImageInput): Tensor<"float32"> {
  const list = Array.isArray(image) ? (image as readonly Tensor<"float32">[]) : [image as Tensor<"float32">]
  const batched = list.map((t) => (t.rank === 3 ? t.reshape([1, ...t.shape]) : t))
  for (const t of batched) {
    if (t.rank !== 4) throw new ModelInputError(`images should be [N, C, H, W] or [C, H, W], found ${t.describe()}.`)
  }
  return batched.length === 1 ? batched[0]! : concat(batched, 0)
}

/**
 * Height and width rounded down to a multiple of the VAE scale factor
 * (diffusers `VaeImageProcessor.get_default_height_width`).
 */
export function defaultHeightWidth(
  image: Tensor,
  factor: number,
  size: { readonly height?: number | undefined; readonly width?: number | undefined } = {},
): { height: number; width: number } {
  const imageHeight = image.shape[image.rank - 2]!
  const imageWidth = image.shape[image.rank - 1]!
  const height = size.height ?? imageHeight
  const width = size.width ?? imageWidth
  const result = { height: height - (height % factor), width: width - (width % factor) }
  if (result.height <= 0 || result.width <= 0) {
    // diffusers rounds the image's own size down to a multiple of the VAE factor; a tiny image rounds to 0.
    throw new ImageSizeError(
      `the input image is ${imageWidth} × ${imageHeight} pixels (width × height), smaller than the model's minimum of ${factor} × ${factor}: its size rounds down to ${result.width} × ${result.height} at multiples of ${factor}. Pass a larger image, or pass height and width to resize it to (e.g. the model's native size).`,
    )
  }
  return result
}

/**
 * diffusers `VaeImageProcessor.resize` on `[N, C, H, W]`: `"default"` stretches to the size, `"crop"` and `"fill"`
 * keep the aspect ratio and center the result (`_resize_and_crop` / `_resize_and_fill`; "fill" stretches the edge
 * rows or columns into the margins).
 */
export async function resizeImages(
  images: Tensor<"float32">,
  options: { readonly height: number; readonly width: number; readonly resizeMode?: ResizeMode; readonly resize?: ImageResizer },
): Promise<Tensor<"float32">> {
  const { height, width } = options
  const resize = options.resize ?? nearestResizer
  const [n, c, h, w] = images.shape as [number, number, number, number]
  const mode = options.resizeMode ?? "default"
  if (mode === "default") return h === height && w === width ? images : resize(images, { width, height })
  // diffusers `_resize_and_crop` / `_resize_and_fill`: keep the aspect ratio, center on a black canvas.
  const ratio = width / height
  const srcRatio = w / h
  const fullWidth = mode === "crop" ? ratio > srcRatio : ratio < srcRatio
  const fullHeight = mode === "crop" ? ratio <= srcRatio : ratio >= srcRatio
  const srcW = fullWidth ? width : Math.floor((w * height) / h)
  const srcH = fullHeight ? height : Math.floor((h * width) / w)
  const resized = await resize(images, { width: srcW, height: srcH })
  const x0 = Math.floor(width / 2) - Math.floor(srcW / 2)
  const y0 = Math.floor(height / 2) - Math.floor(srcH / 2)
  let canvas = pasteImages(Tensor.zeros([n, c, height, width]), resized, [x0, y0])
  if (mode === "fill") {
    // fill the margins by stretching the resized image's edge rows / columns
    if (ratio < srcRatio && y0 > 0) {
      const top = cropImages(resized, [0, 0, srcW, 1])
      const bottom = cropImages(resized, [0, srcH - 1, srcW, srcH])
      canvas = pasteImages(canvas, await resize(top, { width, height: y0 }), [0, 0])
      canvas = pasteImages(canvas, await resize(bottom, { width, height: y0 }), [0, y0 + srcH])
    } else if (ratio > srcRatio && x0 > 0) {
      const left = cropImages(resized, [0, 0, 1, srcH])
      const right = cropImages(resized, [srcW - 1, 0, srcW, srcH])
      canvas = pasteImages(canvas, await resize(left, { width: x0, height }), [0, 0])
      canvas = pasteImages(canvas, await resize(right, { width: x0, height }), [x0 + srcW, 0])
    }
  }
  return canvas
}

/**
 * diffusers `VaeImageProcessor.preprocess` for images `[N, 3, H, W]` (or a list) in [0, 1]: crop, resize to a size
 * divisible by the VAE scale factor, normalize to [-1, 1]. Inputs already in [-1, 1] (any value < 0) are not
 * normalized again; inputs with `latentChannels` channels are returned unchanged.
 *
 * @example
 * const init = await preprocessImage(await loadImage("init.png"), { vaeScaleFactor: 8, height: 1024, width: 1024 })
 */
export async function preprocessImage(image: ImageInput, options: PreprocessOptions): Promise<Tensor<"float32">> {
  let images = toBatch(image)
  if (images.shape[1] === (options.latentChannels ?? 4)) return images
  if (options.cropsCoords !== undefined) images = cropImages(images, options.cropsCoords)
  const { height, width } = defaultHeightWidth(images, options.vaeScaleFactor, options)
  images = await resizeImages(images, { ...options, height, width })
  let hasNegative = false
  for (const v of images.data) if (v < 0) { hasNegative = true; break }
  return hasNegative ? images : normalizeImages(images)
}

/**
 * diffusers' inpainting mask processor (`VaeImageProcessor(do_normalize=False, do_binarize=True,
 * do_convert_grayscale=True)`): crop, resize, grayscale (PIL luma), then `< 0.5 → 0`, `≥ 0.5 → 1`.
 * Returns `[N, 1, H, W]` of zeros and ones (1 = repaint).
 */
export async function preprocessMask(mask: ImageInput, options: PreprocessOptions): Promise<Tensor<"float32">> {
  let masks = toBatch(mask)
  if (options.cropsCoords !== undefined) masks = cropImages(masks, options.cropsCoords)
  const { height, width } = defaultHeightWidth(masks, options.vaeScaleFactor, options)
  masks = toGrayscale(await resizeImages(masks, { ...options, height, width }))
  const out = new Float32Array(masks.size)
  for (let i = 0; i < out.length; i++) out[i] = masks.data[i]! < 0.5 ? 0 : 1
  return new Tensor("float32", out, masks.shape)
}

/** diffusers' `masked_image = init_image * (mask < 0.5)`: keep pixels outside the mask, zero the rest. */
export function maskImage(image: Tensor<"float32">, mask: Tensor<"float32">): Tensor<"float32"> {
  const [n, c, h, w] = image.shape as [number, number, number, number]
  const [mn, mc, mh, mw] = mask.shape as [number, number, number, number]
  if (mc !== 1 || mh !== h || mw !== w || (mn !== n && mn !== 1)) {
    throw new ModelInputError(`mask ${mask.describe()} does not fit image ${image.describe()}: expected [${n} or 1, 1, ${h}, ${w}].`)
  }
  const plane = h * w
  const out = new Float32Array(image.size)
  for (let b = 0; b < n; b++) {
    const m = mn === 1 ? 0 : b * plane
    for (let k = 0; k < c; k++) {
      const base = (b * c + k) * plane
      for (let i = 0; i < plane; i++) out[base + i] = mask.data[m + i]! < 0.5 ? image.data[base + i]! : 0
    }
  }
  return new Tensor("float32", out, image.shape)
}
