// diffusers' ControlNet image preparation: `StableDiffusionXLControlNetPAGPipeline.prepare_image` with
// `control_image_processor = VaeImageProcessor(vae_scale_factor, do_convert_rgb=True, do_normalize=False)`:
// sizes rounded down to the VAE factor, PIL Lanczos resize (the processor's default `resample`), [0, 1] floats,
// then `repeat_interleave` to the batch.
import { Tensor, concat, pilResize, pixels8ToTensor, repeatInterleave, tensorToPixels8, toFloat32 } from "@pagkit/tensor"
import { ControlImageError } from "./errors.js"

/** Resizes `[1, C, H, W]` images in [0, 1]; the default is PIL's Lanczos on 8-bit pixels (what diffusers does for PIL inputs). */
export type ControlImageResizer = (image: Tensor<"float32">, size: { readonly width: number; readonly height: number }) => Tensor<"float32"> | Promise<Tensor<"float32">>

/** PIL `Image.resize(..., Image.LANCZOS)` on the image quantized to 8 bits. */
export const pilLanczosResizer: ControlImageResizer = (image, size) =>
  pixels8ToTensor(pilResize(tensorToPixels8(image), { ...size, filter: "lanczos" }))

/** Options of {@link prepareControlImage}. */
export interface PrepareControlImageOptions {
  /** Output height in pixels (rounded down to a multiple of `vaeScaleFactor`); default the image's. */
  readonly height?: number | undefined
  /** Output width in pixels; default the image's. */
  readonly width?: number | undefined
  /** The VAE's spatial factor (8 for SDXL, 2 for tiny-sdxl). Default 8. */
  readonly vaeScaleFactor?: number
  /** `batch_size · num_images_per_prompt`. Default 1. */
  readonly batchSize?: number
  /** Default 1. A single control image is repeated `batchSize` times, a batch `numImagesPerPrompt` times. */
  readonly numImagesPerPrompt?: number
  /** Channels the ControlNet expects (`conditioning_channels`). Default 3. */
  readonly channels?: number
  /** Default {@link pilLanczosResizer}. */
  readonly resize?: ControlImageResizer
}

/**
 * Prepares control images `[N, 3, H, W]` in [0, 1] (e.g. from `loadImage`; 1-channel gray is expanded to RGB as
 * `do_convert_rgb` does) for the ControlNet: resized to the output size, kept in [0, 1] (no normalisation),
 * repeated to the batch. CFG/PAG duplication is not done here: the residual function lays rows out.
 *
 * @example
 * const control = await prepareControlImage(await loadImage("edges.png"), { height: 1024, width: 1024 })
 */
export async function prepareControlImage(image: Tensor | readonly Tensor[], options: PrepareControlImageOptions = {}): Promise<Tensor<"float32">> {
  const factor = options.vaeScaleFactor ?? 8
  const channels = options.channels ?? 3
  const list = (Array.isArray(image) ? (image as readonly Tensor[]) : [image as Tensor]).map((t) => (t.rank === 3 ? t.reshape([1, ...t.shape]) : t))
  const singles: Tensor<"float32">[] = []
  for (const t of list) {
    if (t.rank !== 4 || t.shape[0] === 0) throw new ControlImageError(`a control image must be [N, C, H, W] (or [C, H, W]) in [0, 1], found ${t.describe()}.`)
    const c = t.shape[1]!
    if (c !== channels && !(c === 1 && channels === 3)) {
      throw new ControlImageError(
        `the ControlNet takes ${channels}-channel control images, found ${c} channels (${t.describe()}). Convert the image to ${channels === 3 ? "RGB" : `${channels} channels`} (drop alpha) first.`,
      )
    }
    const t32 = toFloat32(t)
    for (let n = 0; n < t.shape[0]!; n++) singles.push(toRgb(sliceImage(t32, n), channels))
  }
  const first = singles[0]!
  const height = options.height ?? first.shape[2]!
  const width = options.width ?? first.shape[3]!
  const h = height - (height % factor)
  const w = width - (width % factor)
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0)) {
    throw new ControlImageError(`control image output size ${width}×${height} must be positive integers of at least ${factor} pixels (the VAE factor).`)
  }
  const resize = options.resize ?? pilLanczosResizer
  const resized: Tensor<"float32">[] = []
  for (const s of singles) resized.push(s.shape[2] === h && s.shape[3] === w ? s : await resize(s, { width: w, height: h }))
  const batch = concat(resized, 0)
  const repeatBy = batch.shape[0] === 1 ? (options.batchSize ?? 1) : (options.numImagesPerPrompt ?? 1)
  return repeatBy === 1 ? batch : repeatInterleave(batch, repeatBy, 0)
}

function sliceImage(t: Tensor<"float32">, n: number): Tensor<"float32"> {
  const [, c, h, w] = t.shape as [number, number, number, number]
  const size = c * h * w
  return new Tensor("float32", t.data.slice(n * size, (n + 1) * size), [1, c, h, w])
}

function toRgb(t: Tensor<"float32">, channels: number): Tensor<"float32"> {
  if (t.shape[1] === channels) return t
  const plane = t.shape[2]! * t.shape[3]!
  const out = new Float32Array(3 * plane)
  for (let c = 0; c < 3; c++) out.set(t.data.subarray(0, plane), c * plane)
  return new Tensor("float32", out, [1, 3, t.shape[2]!, t.shape[3]!])
}
