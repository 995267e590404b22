import { Tensor } from "@pagkit/tensor"
import { ModelInputError } from "./errors.js"
import { pasteImages, toGrayscale } from "./internal/pixels.js"
import { nearestResizer, resizeImages } from "./image-processor.js"
import type { ImageResizer } from "./image-processor.js"

/** A crop box `[x1, y1, x2, y2]` in pixels (x2, y2 exclusive). */
export type CropBox = readonly [number, number, number, number]

function asMaskBatch(mask: Tensor<"float32">): Tensor<"float32"> {
  const m = mask.rank === 2 ? mask.reshape([1, 1, ...mask.shape]) : mask.rank === 3 ? mask.reshape([1, ...mask.shape]) : mask
  if (m.rank !== 4 || m.shape[0] !== 1) {
    throw new ModelInputError(`mask should be one image [1, C, H, W], [C, H, W] or [H, W], found ${mask.describe()}.`)
  }
  return toGrayscale(m)
}

/**
 * The box around every non-zero mask pixel, padded by `pad` and widened to the aspect ratio `width / height`
 * (port of diffusers `VaeImageProcessor.get_crop_region`, used by `padding_mask_crop`). The mask is in [0, 1];
 * a pixel counts as masked when its 8-bit grayscale value is not 0.
 *
 * @example
 * const box = getCropRegion(mask, 1024, 1024, 32) // [x1, y1, x2, y2]
 */
// Four parameters, as diffusers' get_crop_region(mask_image, width, height, pad).
export function getCropRegion(mask: Tensor<"float32">, width: number, height: number, pad = 0): CropBox {
  const gray = asMaskBatch(mask)
  const [, , h, w] = gray.shape as [number, number, number, number]
  const zero = (x: number, y: number): boolean => Math.round(gray.data[y * w + x]! * 255) === 0
  const columnEmpty = (x: number): boolean => {
    for (let y = 0; y < h; y++) if (!zero(x, y)) return false
    return true
  }
  const rowEmpty = (y: number): boolean => {
    for (let x = 0; x < w; x++) if (!zero(x, y)) return false
    return true
  }
  let cropLeft = 0
  for (let i = 0; i < w && columnEmpty(i); i++) cropLeft++
  if (cropLeft === w) {
    // diffusers gets an inverted box here and PIL's crop fails on it
    throw new ModelInputError(
      `the mask ${mask.describe()} has no masked (non-zero) pixel, so there is no region to crop to. ` +
        `Paint the area to repaint white in the mask, or drop paddingMaskCrop (diffusers' padding_mask_crop).`,
    )
  }
  let cropRight = 0
  for (let i = w - 1; i >= 0 && columnEmpty(i); i--) cropRight++
  let cropTop = 0
  for (let i = 0; i < h && rowEmpty(i); i++) cropTop++
  let cropBottom = 0
  for (let i = h - 1; i >= 0 && rowEmpty(i); i--) cropBottom++

  let x1 = Math.max(cropLeft - pad, 0)
  let y1 = Math.max(cropTop - pad, 0)
  let x2 = Math.min(w - cropRight + pad, w)
  let y2 = Math.min(h - cropBottom + pad, h)

  const ratioCropRegion = (x2 - x1) / (y2 - y1)
  const ratioProcessing = width / height
  if (ratioCropRegion > ratioProcessing) {
    const desiredHeight = (x2 - x1) / ratioProcessing
    const diff = Math.trunc(desiredHeight - (y2 - y1))
    y1 -= Math.floor(diff / 2)
    y2 += diff - Math.floor(diff / 2)
    if (y2 >= h) {
      const over = y2 - h
      y2 -= over
      y1 -= over
    }
    if (y1 < 0) {
      y2 -= y1
      y1 -= y1
    }
    if (y2 >= h) y2 = h
  } else {
    const desiredWidth = (y2 - y1) * ratioProcessing
    const diff = Math.trunc(desiredWidth - (x2 - x1))
    x1 -= Math.floor(diff / 2)
    x2 += diff - Math.floor(diff / 2)
    if (x2 >= w) {
      const over = x2 - w
      x2 -= over
      x1 -= over
    }
    if (x1 < 0) {
      x2 -= x1
      x1 -= x1
    }
    if (x2 >= w) x2 = w
  }
  return [x1, y1, x2, y2]
}

/** Options of {@link applyOverlay}. */
export interface OverlayOptions {
  /** Crop box the image was generated for (`padding_mask_crop`). */
  readonly cropsCoords?: CropBox | undefined
  /** Resizer for fitting the generated image into the box. Default nearest. */
  readonly resize?: ImageResizer
}

/**
 * Puts inpainted images back onto the original (diffusers `VaeImageProcessor.apply_overlay`, applied to each
 * generated image as the inpainting pipelines do): with a crop box, each result is resized into the box
 * (aspect-preserving "crop" mode); then original pixels are kept where the mask is 0 and the generated ones where it
 * is 1, blending by the grayscale mask in between. The original is `[1, 3, H, W]` (or one per generated image), the
 * generated images `[N, 3, h, w]` in [0, 1], the mask `[1, 1|3, H, W]` at the original size; returns `[N, 3, H, W]`.
 * Float blending, not PIL's 8-bit premultiplied compositing, so values can differ from diffusers by about 1/255.
 */
export async function applyOverlay(
  mask: Tensor<"float32">,
  initImage: Tensor<"float32">,
  image: Tensor<"float32">,
  options: OverlayOptions = {},
): Promise<Tensor<"float32">> {
  const gray = asMaskBatch(mask)
  const [originals, c, h, w] = initImage.shape as [number, number, number, number]
  const n = image.shape[0]!
  let generated = image
  if (options.cropsCoords !== undefined) {
    const [x, y, x2, y2] = options.cropsCoords
    const fitted = await resizeImages(image, {
      height: y2 - y,
      width: x2 - x,
      resizeMode: "crop",
      resize: options.resize ?? nearestResizer,
    })
    generated = pasteImages(Tensor.zeros([n, c, h, w]), fitted, [x, y])
  }
  if (generated.shape[2] !== h || generated.shape[3] !== w || gray.shape[2] !== h || gray.shape[3] !== w) {
    throw new ModelInputError(
      `overlay sizes differ: original ${initImage.describe()}, generated ${generated.describe()}, mask ${gray.describe()}. Pass crop coordinates when the image was cropped.`,
    )
  }
  if (generated.shape[1] !== c || (originals !== 1 && originals !== n)) {
    throw new ModelInputError(
      `overlay: expected ${n} generated image(s) with ${c} channels over 1 or ${n} original(s), found generated ${generated.describe()} and original ${initImage.describe()}.`,
    )
  }
  const plane = h * w
  const out = new Float32Array(n * c * plane)
  for (let b = 0; b < n; b++) {
    const source = originals === 1 ? 0 : b
    for (let k = 0; k < c; k++) {
      for (let i = 0; i < plane; i++) {
        const keep = 1 - gray.data[i]!
        const idx = (b * c + k) * plane + i
        const original = initImage.data[(source * c + k) * plane + i]!
        out[idx] = Math.fround(generated.data[idx]! * (1 - keep) + original * keep)
      }
    }
  }
  return new Tensor("float32", out, [n, c, h, w])
}
