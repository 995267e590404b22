// Loading an IP-Adapter (weights + image encoder + feature extractor) and turning images into image tokens.
// Reference: diffusers `loaders/ip_adapter.py` `load_ip_adapter`, the SDXL pipelines' `encode_image` and
// `prepare_ip_adapter_image_embeds` (non-Plus adapters: `output_hidden_states=False`).
import type { HookKind, SessionOptions } from "@pagkit/onnx"
import { Tensor, concat, toFloat32 } from "@pagkit/tensor"
import { withLoadScope } from "@pagkit/models-core"
import { CLIP_DEFAULTS, clipPreprocess, loadClipImageProcessorConfig } from "./clip-image-processor.js"
import type { ClipImageProcessorConfig } from "./clip-image-processor.js"
import { IpAdapterInputError, IpAdapterModelError } from "./errors.js"
import { ImageEncoder } from "./image-encoder.js"
import { projectImageEmbeds } from "./image-projection.js"
import { ipAdapterAttention } from "./ip-adapter-attention.js"
import { readIpAdapterWeights } from "./ip-adapter-weights.js"
import type { IpAdapterWeights } from "./ip-adapter-weights.js"

/** Options of {@link loadIpAdapter}. */
export interface LoadIpAdapterOptions {
  /** The IP-Adapter `.safetensors` checkpoint (published key layout). */
  readonly weights: string
  /** `image_encoder/` folder (CLIP vision with projection, ONNX). Optional when only precomputed embeddings are used. */
  readonly imageEncoder?: string
  /**
   * `feature_extractor/` folder (`preprocessor_config.json`). Default, as diffusers: CLIP preprocessing at the
   * encoder's input size.
   */
  readonly featureExtractor?: string
  readonly sessionOptions?: SessionOptions
}

/** Image embeddings prepared for a run: `positive` `[N, n, D]`, `negative` zeros of the same shape. */
export interface PreparedImageEmbeds {
  readonly positive: Tensor<"float32">
  readonly negative: Tensor<"float32">
}

/** An image or a batch `[N, 3, H, W]` in [0, 1] (as `loadImage` returns), or a list of them. */
export type IpAdapterImage = Tensor | readonly Tensor[]

/**
 * A loaded IP-Adapter: image preprocessing, the image encoder, the image projection and the cross-attention hook.
 *
 * @example
 * const ip = await loadIpAdapter({ weights: "ip-adapter.safetensors", imageEncoder: "image_encoder", featureExtractor: "feature_extractor" })
 * const { positive, negative } = await ip.prepareImageEmbeds({ image: await loadImage("ref.png") })
 * const tokens = { cond: ip.imageTokens(positive), uncond: ip.imageTokens(negative) }
 */
export class IpAdapter {
  readonly weights: IpAdapterWeights
  readonly imageEncoder: ImageEncoder | undefined
  readonly processor: ClipImageProcessorConfig

  constructor(weights: IpAdapterWeights, imageEncoder: ImageEncoder | undefined, processor: ClipImageProcessorConfig) {
    this.weights = weights
    this.imageEncoder = imageEncoder
    this.processor = processor
  }

  /** The hook kind to install on the UNet (see {@link ipAdapterAttention}). */
  hook(): HookKind {
    return ipAdapterAttention(this.weights)
  }

  /** CLIP `pixel_values` `[N, 3, S, S]` of the images. */
  preprocess(image: IpAdapterImage): Tensor<"float32"> {
    return clipPreprocess(image, this.processor)
  }

  /** `image_embeds` `[N, D]` of the images (preprocessing + image encoder). */
  async encodeImage(image: IpAdapterImage): Promise<Tensor<"float32">> {
    if (this.imageEncoder === undefined) {
      throw new IpAdapterModelError("this IP-Adapter was loaded without an image encoder; pass imageEncoder to loadIpAdapter, or give precomputed imageEmbeds.")
    }
    const embeds = await this.imageEncoder.encode(this.preprocess(image))
    if (embeds.shape[1] !== this.weights.imageEmbedDim) {
      throw new IpAdapterModelError(
        `the image encoder gives ${embeds.shape[1]}-wide image_embeds, but the IP-Adapter projection expects ${this.weights.imageEmbedDim}. Use the image encoder the IP-Adapter was trained with.`,
      )
    }
    return embeds
  }

  /**
   * diffusers `prepare_ip_adapter_image_embeds` for one adapter: from an image (encoded, negative = zeros) or from
   * precomputed `imageEmbeds` (`[negative; positive]` stacked on axis 0 when `doClassifierFreeGuidance`, as
   * diffusers takes `ip_adapter_image_embeds`). Embeddings are repeated for `batchSize` rows (default 1).
   */
  async prepareImageEmbeds(options: {
    readonly image?: IpAdapterImage
    readonly imageEmbeds?: Tensor
    readonly doClassifierFreeGuidance?: boolean
    readonly batchSize?: number
  }): Promise<PreparedImageEmbeds> {
    const batch = options.batchSize ?? 1
    let positive: Tensor<"float32">
    let negative: Tensor<"float32"> | undefined
    if (options.imageEmbeds !== undefined) {
      const given = options.imageEmbeds.rank === 2 ? options.imageEmbeds.reshape([options.imageEmbeds.shape[0]!, 1, options.imageEmbeds.shape[1]!]) : options.imageEmbeds
      if (given.rank !== 3 || given.shape[2] !== this.weights.imageEmbedDim) {
        throw new IpAdapterInputError(`imageEmbeds must be [rows, images, ${this.weights.imageEmbedDim}], found ${options.imageEmbeds.describe()}.`)
      }
      const data = toFloat32(given).data.slice() // float16 bits decoded, int64 converted; always a copy
      const all = new Tensor("float32", data, given.shape)
      if (options.doClassifierFreeGuidance === true) {
        const half = all.shape[0]! / 2
        if (!Number.isInteger(half)) throw new IpAdapterInputError(`with CFG, imageEmbeds must stack [negative; positive] on axis 0; found ${all.shape[0]} rows.`)
        const size = (all.size / all.shape[0]!) * half
        negative = new Tensor("float32", data.slice(0, size), [half, ...all.shape.slice(1)])
        positive = new Tensor("float32", data.slice(size), [half, ...all.shape.slice(1)])
      } else positive = all
    } else if (options.image !== undefined) {
      const embeds = await this.encodeImage(options.image) // [n images, D]
      positive = embeds.reshape([1, embeds.shape[0]!, embeds.shape[1]!])
    } else {
      throw new IpAdapterInputError("prepareImageEmbeds needs an image or precomputed imageEmbeds.")
    }
    positive = repeatRows(positive, batch)
    negative = negative === undefined ? Tensor.zeros(positive.shape) : repeatRows(negative, batch)
    return { positive, negative }
  }

  /** Frees the image encoder's session. */
  async release(): Promise<void> {
    await this.imageEncoder?.release()
  }

  /** Image tokens `[N, n · T, C]` of embeddings `[N, n, D]` (or `[N, D]`). */
  imageTokens(imageEmbeds: Tensor): Tensor<"float32"> {
    return projectImageEmbeds(this.weights, imageEmbeds)
  }
}

function repeatRows(t: Tensor<"float32">, batch: number): Tensor<"float32"> {
  if (batch === 1) return t
  return concat(Array.from({ length: batch }, () => t), 0)
}

/**
 * Loads an IP-Adapter: its weights, and where given its image encoder and feature extractor config.
 *
 * @example
 * const ip = await loadIpAdapter({ weights: "tiny-ip-adapter/ip-adapter_tiny-sdxl.safetensors", imageEncoder: "tiny-ip-adapter/image_encoder" })
 */
export async function loadIpAdapter(options: LoadIpAdapterOptions): Promise<IpAdapter> {
  const weights = await readIpAdapterWeights(options.weights)
  return withLoadScope(async (scope) => {
    const encoder = options.imageEncoder === undefined ? undefined : scope.own(await ImageEncoder.load(options.imageEncoder, options.sessionOptions ?? {}))
    let processor: ClipImageProcessorConfig
    if (options.featureExtractor !== undefined) processor = await loadClipImageProcessorConfig(options.featureExtractor)
    else {
      const size = encoder?.imageSize ?? 224
      processor = { ...CLIP_DEFAULTS, size: { shortestEdge: size }, cropSize: { height: size, width: size } }
    }
    return new IpAdapter(weights, encoder, processor)
  })
}
