import { Tensor, interpolate, sameShape } from "@pagkit/tensor"
import { ModelInputError, maskImage, randnTensor } from "@pagkit/models-core"
import type { GeneratorInput, Vae } from "@pagkit/models-core"
import { expandToBatch, latentShape, scaleLatents } from "./prepare-latents.js"
import type { LatentScheduler } from "./prepare-latents.js"

const f32 = Math.fround

/** Options of {@link prepareInpaintLatents}. */
export interface InpaintLatentsOptions {
  /** Preprocessed init image `[N, 3, H, W]` in [-1, 1] (or latents `[N, 4, h, w]`). */
  readonly image: Tensor<"float32">
  /** Preprocessed binary mask `[N, 1, H, W]` (1 = repaint), from `preprocessMask`. */
  readonly mask: Tensor<"float32">
  /** `batch_size · num_images_per_prompt`. */
  readonly batchSize: number
  /** Output image height in pixels. */
  readonly height: number
  /** Output image width in pixels. */
  readonly width: number
  /** First timestep of the strength-shortened schedule (unused when strength is 1). */
  readonly timestep: number
  /** strength ≥ 1 starts from pure noise (`is_strength_max`). */
  readonly strength: number
  /** The VAE that encodes the image and the masked image. */
  readonly vae: Vae
  /** The scheduler whose `addNoise` and `initNoiseSigma` are used. */
  readonly scheduler: LatentScheduler
  /** Generator(s) for the VAE samples and the noise, drawn in diffusers' order. */
  readonly generator?: GeneratorInput | undefined
  /** User latents: used as the noise, scaled by init_noise_sigma. */
  readonly latents?: Tensor<"float32"> | undefined
  /** `unet.config.in_channels`: 4 (blend after each step) or 9 (mask and masked image as UNet input). Default 4. */
  readonly unetChannels?: number
  /**
   * Encode the masked image (diffusers does, even for 4-channel UNets that never use it; that draw moves the
   * generator, which matters for stochastic schedulers). Default true.
   */
  readonly encodeMaskedImage?: boolean
}

/** What inpainting preparation produced; every tensor has B rows. */
export interface InpaintLatents {
  /** Starting latents `[B, 4, h, w]`. */
  readonly latents: Tensor<"float32">
  /** The noise, reused when re-noising image latents after each step. */
  readonly noise: Tensor<"float32">
  /** Scaled latents of the init image `[B, 4, h, w]` (undefined for a 9-channel UNet at strength 1 with no need). */
  readonly imageLatents: Tensor<"float32"> | undefined
  /** Mask at latent size `[B, 1, h, w]` (nearest interpolation). */
  readonly mask: Tensor<"float32">
  /** Scaled latents of the masked image `[B, 4, h, w]` (9-channel UNets feed them). */
  readonly maskedImageLatents: Tensor<"float32"> | undefined
}

/**
 * Inpainting preparation in diffusers' order (`StableDiffusionXLInpaintPipeline.prepare_latents` then
 * `prepare_mask_latents`): encode the init image (draw 1), noise (draw 2), `addNoise` unless strength ≥ 1
 * (pure noise · init_noise_sigma), mask resized to the latent size, masked image `image · (mask < 0.5)` encoded
 * (draw 3).
 */
export async function prepareInpaintLatents(options: InpaintLatentsOptions): Promise<InpaintLatents> {
  const { vae, batchSize, generator } = options
  const channels = vae.config.latentChannels
  const unetChannels = options.unetChannels ?? 4
  const isStrengthMax = options.strength >= 1
  const shape = latentShape({ batchSize, channels, height: options.height, width: options.width, vaeScaleFactor: vae.scaleFactor })
  const imageIsLatent = options.image.shape[1] === channels
  // diffusers `_encode_vae_image`: with a list, image row i is encoded with generator[i] (rows < list length)
  const encodeGenerator = Array.isArray(generator) ? generator.slice(0, options.image.shape[0]) : generator

  let imageLatents: Tensor<"float32"> | undefined
  if (imageIsLatent) imageLatents = expandToBatch(options.image, batchSize)
  else if (unetChannels === 4 || (options.latents === undefined && !isStrengthMax)) {
    imageLatents = expandToBatch(await vae.encodeLatents(options.image, encodeGenerator), batchSize)
  }

  let latents: Tensor<"float32">
  let noise: Tensor<"float32">
  if (options.latents === undefined) {
    noise = randnTensor(shape, generator)
    if (isStrengthMax) latents = scaleLatents(noise, options.scheduler.initNoiseSigma)
    else {
      if (imageLatents === undefined) throw new ModelInputError("strength < 1 needs an init image to noise.")
      latents = options.scheduler.addNoise(imageLatents, noise, Array.from({ length: batchSize }, () => options.timestep))
    }
  } else {
    noise = options.latents
    latents = scaleLatents(noise, options.scheduler.initNoiseSigma)
  }

  // prepare_mask_latents
  const [, , h, w] = shape as [number, number, number, number]
  let mask = interpolate(options.mask, { size: [h, w], mode: "nearest" })
  mask = expandToBatch(mask, batchSize, "mask")
  let maskedImageLatents: Tensor<"float32"> | undefined
  if (!imageIsLatent && (options.encodeMaskedImage ?? true)) {
    const maskedImage = maskImage(options.image, options.mask)
    maskedImageLatents = expandToBatch(await vae.encodeLatents(maskedImage, encodeGenerator), batchSize)
  }
  return { latents, noise, imageLatents, mask, maskedImageLatents }
}

/**
 * After a step with a 4-channel UNet: `(1 − mask) · addNoise(imageLatents, noise, [tNext]) + mask · latents`;
 * at the last step (`nextTimestep` undefined) the image latents are used without noise.
 */
export function blendInpaintLatents(options: {
  readonly latents: Tensor<"float32">
  readonly imageLatents: Tensor<"float32">
  readonly noise: Tensor<"float32">
  /** `[B, 1, h, w]`, 1 = repaint. */
  readonly mask: Tensor<"float32">
  readonly nextTimestep: number | undefined
  readonly scheduler: Pick<LatentScheduler, "addNoise">
}): Tensor<"float32"> {
  const { latents, mask } = options
  const [b, c, h, w] = latents.shape as [number, number, number, number]
  if (!sameShape(mask.shape, [b, 1, h, w]) || !sameShape(options.imageLatents.shape, latents.shape) || !sameShape(options.noise.shape, latents.shape)) {
    throw new ModelInputError(
      `blendInpaintLatents: expected mask [${b}, 1, ${h}, ${w}] and image latents and noise shaped like the latents ` +
        `${latents.describe()}; found mask ${mask.describe()}, image latents ${options.imageLatents.describe()}, noise ${options.noise.describe()}. ` +
        `Pass the mask, imageLatents and noise that prepareInpaintLatents returned for this batch.`,
    )
  }
  const proper =
    options.nextTimestep === undefined
      ? options.imageLatents
      : options.scheduler.addNoise(options.imageLatents, options.noise, [options.nextTimestep])
  const plane = h * w
  const out = new Float32Array(latents.size)
  for (let n = 0; n < b; n++) {
    for (let k = 0; k < c; k++) {
      const base = (n * c + k) * plane
      for (let i = 0; i < plane; i++) {
        const m = mask.data[n * plane + i]!
        out[base + i] = f32(f32(f32(1 - m) * proper.data[base + i]!) + f32(m * latents.data[base + i]!))
      }
    }
  }
  return new Tensor("float32", out, latents.shape)
}
