import { Tensor, sameShape, tile } from "@pagkit/tensor"
import { ModelInputError, randnTensor } from "@pagkit/models-core"
import type { GeneratorInput, Vae } from "@pagkit/models-core"

const f32 = Math.fround

/** The scheduler parts latent preparation uses (a `@pagkit/schedulers` `Scheduler` fits). */
export interface LatentScheduler {
  readonly initNoiseSigma: number
  addNoise(originalSamples: Tensor<"float32">, noise: Tensor<"float32">, timesteps: readonly number[]): Tensor<"float32">
}

/** `latents · s` in float32. */
export function scaleLatents(latents: Tensor<"float32">, s: number): Tensor<"float32"> {
  const factor = f32(s)
  const out = new Float32Array(latents.size)
  for (let i = 0; i < out.length; i++) out[i] = f32(latents.data[i]! * factor)
  return new Tensor("float32", out, latents.shape)
}

/** Options of {@link prepareTextToImageLatents}. */
export interface TextToImageLatentsOptions {
  /** `batch_size · num_images_per_prompt`. */
  readonly batchSize: number
  /** Output image height in pixels (latents are `height / vaeScaleFactor` high). */
  readonly height: number
  /** Output image width in pixels. */
  readonly width: number
  /** Pixels per latent (`2^(len(vae.block_out_channels) − 1)`, 8 for SDXL). */
  readonly vaeScaleFactor: number
  /** Latent channels (`unet.config.in_channels`, 4 for SDXL). */
  readonly channels?: number
  /** Generator(s) the noise is drawn from, as diffusers' `randn_tensor`. */
  readonly generator?: GeneratorInput | undefined
  /** User latents `[B, C, h, w]` instead of drawn noise. */
  readonly latents?: Tensor<"float32"> | undefined
  /** The scheduler whose `initNoiseSigma` scales the noise. */
  readonly scheduler: Pick<LatentScheduler, "initNoiseSigma">
}

/** Latent shape `[B, C, H/f, W/f]`. */
export function latentShape(options: {
  readonly batchSize: number
  readonly channels: number
  readonly height: number
  readonly width: number
  readonly vaeScaleFactor: number
}): number[] {
  const { batchSize, channels, height, width, vaeScaleFactor } = options
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    // The batch is counted from the prompts: a prompt that is neither a string nor an array of strings shows here.
    throw new ModelInputError(
      `the batch size (prompts × images per prompt) must be a whole number ≥ 1, found ${String(batchSize)}${batchSize === 0 ? " (an empty prompt array?)" : ""}. Pass prompt as a string or an array of strings (e.g. prompt: "a red circle"), and numImagesPerPrompt as a whole number.`,
    )
  }
  return [batchSize, channels, Math.floor(height / vaeScaleFactor), Math.floor(width / vaeScaleFactor)]
}

/**
 * Text-to-image starting latents: `randn([B, C, H/f, W/f]) · init_noise_sigma`, one draw from the generator
 * (diffusers `StableDiffusionXLPipeline.prepare_latents`), or the user's latents scaled the same way.
 */
export function prepareTextToImageLatents(options: TextToImageLatentsOptions): Tensor<"float32"> {
  const shape = latentShape({ ...options, channels: options.channels ?? 4 })
  let latents = options.latents
  if (latents === undefined) latents = randnTensor(shape, options.generator)
  else if (!sameShape(latents.shape, shape)) {
    throw new ModelInputError(`latents ${latents.describe()} do not fit the request: expected [${shape.join(", ")}].`)
  }
  return scaleLatents(latents, options.scheduler.initNoiseSigma)
}

/** Repeats image latents to the batch like diffusers (`torch.cat([x] * k)`), or throws when it does not divide. */
export function expandToBatch(latents: Tensor<"float32">, batchSize: number, what = "image"): Tensor<"float32"> {
  const n = latents.shape[0]!
  if (batchSize === n) return latents
  if (batchSize > n && batchSize % n === 0) return tile(latents, [batchSize / n, 1, 1, 1])
  throw new ModelInputError(
    `cannot duplicate ${what} batch of ${n} to the effective batch size ${batchSize}; pass 1 or a divisor of ${batchSize} images.`,
  )
}

/** Options of {@link prepareImageToImageLatents}. */
export interface ImageToImageLatentsOptions {
  /** Preprocessed image `[N, 3, H, W]` in [-1, 1], or latents `[N, 4, h, w]` used as they are. */
  readonly image: Tensor<"float32">
  /** `batch_size · num_images_per_prompt`. */
  readonly batchSize: number
  /** The first timestep of the (strength-shortened) schedule. */
  readonly timestep: number
  /** The VAE that encodes the image. */
  readonly vae: Vae
  /** The scheduler whose `addNoise` noises the image latents to `timestep`. */
  readonly scheduler: LatentScheduler
  /** Generator(s) for the VAE sample and the noise, drawn in diffusers' order. */
  readonly generator?: GeneratorInput | undefined
  /** Default true; false returns the image latents (`denoising_start` runs). */
  readonly addNoise?: boolean
}

/** What img2img preparation produced. */
export interface ImageToImageLatents {
  /** Noised starting latents `[B, 4, h, w]`. */
  readonly latents: Tensor<"float32">
  /** Scaled image latents before noise `[B, 4, h, w]`. */
  readonly imageLatents: Tensor<"float32">
  /** The noise added (undefined when `addNoise` is false). */
  readonly noise: Tensor<"float32"> | undefined
}

/**
 * img2img starting latents (diffusers `StableDiffusionXLImg2ImgPipeline.prepare_latents`): VAE-encode the image
 * and sample its latent distribution (draw 1, shape of the image batch), scale, repeat to the batch, then
 * `scheduler.addNoise(latents, randn(latents.shape) (draw 2), [timestep] · B)`.
 */
export async function prepareImageToImageLatents(options: ImageToImageLatentsOptions): Promise<ImageToImageLatents> {
  const { image, vae, batchSize } = options
  let initLatents: Tensor<"float32">
  if (image.shape[1] === vae.config.latentChannels) initLatents = image
  else {
    const generator = options.generator
    if (Array.isArray(generator) && generator.length !== batchSize) {
      throw new ModelInputError(`${generator.length} generators were passed for an effective batch size of ${batchSize}.`)
    }
    const images = Array.isArray(generator) ? expandToBatch(image, batchSize) : image
    initLatents = await vae.encodeLatents(images, generator)
  }
  const imageLatents = expandToBatch(initLatents, batchSize)
  if (options.addNoise === false) return { latents: imageLatents, imageLatents, noise: undefined }
  const noise = randnTensor(imageLatents.shape, options.generator)
  const timesteps = Array.from({ length: batchSize }, () => options.timestep)
  return { latents: options.scheduler.addNoise(imageLatents, noise, timesteps), imageLatents, noise }
}
