import type { Tensor } from "@pagkit/tensor"
import { checkImageSize, preprocessImage, preprocessMask } from "@pagkit/models-core"
import type { ModelIndex, PreprocessOptions, SessionLike, Vae } from "@pagkit/models-core"
import { encodeSdxlPrompt } from "./encode-prompt.js"
import type { EncodePromptOptions, SdxlPromptEmbeds } from "./encode-prompt.js"
import { prepareInpaintLatents } from "./prepare-inpaint-latents.js"
import type { InpaintLatents, InpaintLatentsOptions } from "./prepare-inpaint-latents.js"
import { prepareImageToImageLatents, prepareTextToImageLatents } from "./prepare-latents.js"
import type { ImageToImageLatents, ImageToImageLatentsOptions, TextToImageLatentsOptions } from "./prepare-latents.js"
import type { PromptTokenizer } from "./prompt-tokenizer.js"
import type { SdxlUnet } from "./sdxl-unet.js"
import { sdxlTimeIds } from "./time-ids.js"
import type { TimeIds, TimeIdsOptions } from "./time-ids.js"

/** Everything an {@link SdxlModel} is made of. */
export interface SdxlParts {
  readonly dir: string
  readonly index: ModelIndex | undefined
  readonly tokenizer: PromptTokenizer | undefined
  readonly textEncoder: SessionLike | undefined
  readonly tokenizer2: PromptTokenizer
  readonly textEncoder2: SessionLike
  readonly unet: SdxlUnet
  readonly vae: Vae
  /** `scheduler/scheduler_config.json` (pass it to `createScheduler`). */
  readonly schedulerConfig: Readonly<Record<string, unknown>>
  /** `unet/config.json` of the base folder (or of the override folder when it has one). */
  readonly unetConfig: Readonly<Record<string, unknown>> | undefined
}

/**
 * A loaded SDXL pipeline folder: the adapter the pipelines drive. Sessions are shared, never copied:
 * {@link withUnet} swaps the UNet (ControlNet variant, hooked graph) and keeps every other session.
 *
 * @example
 * const model = await loadSdxl("models/tiny-sdxl")
 * const text = await model.encodePrompt({ prompt: "a red circle", doCfg: true })
 * const image = await model.vae.decode(latents)
 */
export class SdxlModel {
  readonly dir: string
  readonly index: ModelIndex | undefined
  readonly tokenizer: PromptTokenizer | undefined
  readonly textEncoder: SessionLike | undefined
  readonly tokenizer2: PromptTokenizer
  readonly textEncoder2: SessionLike
  readonly unet: SdxlUnet
  readonly vae: Vae
  readonly schedulerConfig: Readonly<Record<string, unknown>>
  readonly unetConfig: Readonly<Record<string, unknown>> | undefined
  /** `force_zeros_for_empty_prompt` (default true, as SDXL pipelines register it). */
  readonly forceZerosForEmptyPrompt: boolean
  /** `requires_aesthetics_score` (default false). */
  readonly requiresAestheticsScore: boolean

  constructor(parts: SdxlParts) {
    this.dir = parts.dir
    this.index = parts.index
    this.tokenizer = parts.tokenizer
    this.textEncoder = parts.textEncoder
    this.tokenizer2 = parts.tokenizer2
    this.textEncoder2 = parts.textEncoder2
    this.unet = parts.unet
    this.vae = parts.vae
    this.schedulerConfig = parts.schedulerConfig
    this.unetConfig = parts.unetConfig
    this.forceZerosForEmptyPrompt = parts.index?.forceZerosForEmptyPrompt ?? true
    this.requiresAestheticsScore = parts.index?.requiresAestheticsScore ?? false
  }

  /** Pixels per latent cell (8 for SDXL, 2 for tiny-sdxl). */
  get vaeScaleFactor(): number {
    return this.vae.scaleFactor
  }

  /** Latent sizes must be multiples of this: `2^(len(down_block_types) − 1)` of the UNet config (4 for SDXL). */
  get latentMultiple(): number {
    const blocks = this.unetConfig?.["down_block_types"]
    return Array.isArray(blocks) && blocks.length > 0 ? 2 ** (blocks.length - 1) : 1
  }

  /** Latent channels of the VAE (what the UNet denoises; 9-channel inpainting UNets add mask and masked-image channels). */
  get latentChannels(): number {
    return this.vae.config.latentChannels
  }

  /** diffusers' default size: `unet.config.sample_size · vae_scale_factor` (1024 for SDXL, 64 for tiny-sdxl). */
  defaultSize(): { height: number; width: number } {
    const sampleSize = this.unetConfig?.["sample_size"]
    const size = (typeof sampleSize === "number" ? sampleSize : 128) * this.vaeScaleFactor
    return { height: size, width: size }
  }

  /** Throws an `ImageSizeError` naming the nearest valid sizes unless the UNet can take this size. */
  checkSize(height: number, width: number): void {
    checkImageSize(height, width, {
      vaeScaleFactor: this.vaeScaleFactor,
      latentMultiple: this.latentMultiple,
      model: `the SDXL model in "${this.dir}"`,
    })
  }

  /** `encode_prompt` with this folder's encoders and `force_zeros_for_empty_prompt`. */
  encodePrompt(options: EncodePromptOptions): Promise<SdxlPromptEmbeds> {
    return encodeSdxlPrompt(this, options)
  }

  /** Positive and negative `add_time_ids` with this folder's `requires_aesthetics_score`, checked against the UNet. */
  timeIds(options: Omit<TimeIdsOptions, "requiresAestheticsScore" | "expectedLength">): TimeIds {
    return sdxlTimeIds({
      ...options,
      requiresAestheticsScore: this.requiresAestheticsScore,
      expectedLength: this.unet.timeIdsLength,
    })
  }

  /** diffusers' image processor with this VAE's scale factor: images `[N, 3, H, W]` in [0, 1] → [-1, 1]. */
  preprocessImage(
    image: Tensor<"float32"> | readonly Tensor<"float32">[],
    options: Omit<PreprocessOptions, "vaeScaleFactor"> = {},
  ): Promise<Tensor<"float32">> {
    return preprocessImage(image, { ...options, vaeScaleFactor: this.vaeScaleFactor, latentChannels: this.latentChannels })
  }

  /** diffusers' inpainting mask processor with this VAE's scale factor: binary `[N, 1, H, W]`. */
  preprocessMask(
    mask: Tensor<"float32"> | readonly Tensor<"float32">[],
    options: Omit<PreprocessOptions, "vaeScaleFactor"> = {},
  ): Promise<Tensor<"float32">> {
    return preprocessMask(mask, { ...options, vaeScaleFactor: this.vaeScaleFactor })
  }

  /** {@link prepareTextToImageLatents} with this model's scale factor and latent channels. */
  textToImageLatents(options: Omit<TextToImageLatentsOptions, "vaeScaleFactor" | "channels">): Tensor<"float32"> {
    return prepareTextToImageLatents({ ...options, vaeScaleFactor: this.vaeScaleFactor, channels: this.latentChannels })
  }

  /** {@link prepareImageToImageLatents} with this model's VAE. */
  imageToImageLatents(options: Omit<ImageToImageLatentsOptions, "vae">): Promise<ImageToImageLatents> {
    return prepareImageToImageLatents({ ...options, vae: this.vae })
  }

  /** {@link prepareInpaintLatents} with this model's VAE and UNet channel count. */
  inpaintLatents(options: Omit<InpaintLatentsOptions, "vae" | "unetChannels">): Promise<InpaintLatents> {
    return prepareInpaintLatents({ ...options, vae: this.vae, unetChannels: this.unet.inChannels ?? 4 })
  }

  /** Decodes latents `[N, 4, h, w]` to images `[N, 3, H, W]` in [0, 1]. */
  decode(latents: Tensor<"float32">): Promise<Tensor<"float32">> {
    return this.vae.decode(latents)
  }

  /**
   * Frees every session of this model. Models made with {@link withUnet} share sessions: release only once,
   * when none of them is used any more.
   */
  async release(): Promise<void> {
    await Promise.all([
      this.textEncoder?.release?.(),
      this.textEncoder2.release?.(),
      this.unet.session.release?.(),
      this.vae.release(),
    ])
  }

  /** The same model with another UNet (sharing every other session). */
  withUnet(unet: SdxlUnet, unetConfig: Readonly<Record<string, unknown>> | undefined = this.unetConfig): SdxlModel {
    return new SdxlModel({ ...this, unet, unetConfig })
  }
}
