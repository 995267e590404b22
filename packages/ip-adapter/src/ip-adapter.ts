// Loading an IP-Adapter (weights + image encoder + feature extractor) and turning images into image tokens.
// Reference: diffusers `loaders/ip_adapter.py` `load_ip_adapter`, the SDXL pipelines' `encode_image` and
// `prepare_ip_adapter_image_embeds`: base adapters take `image_embeds` (negative: zeros); Plus adapters
// (`output_hidden_states=True`) take `hidden_states[-2]`, the negative being the encoding of a zero image.
import type { HookKind, SessionOptions } from "@pagkit/onnx"
import { Tensor, concat, toFloat32 } from "@pagkit/tensor"
import { withLoadScope } from "@pagkit/models-core"
import { CLIP_DEFAULTS, clipPreprocess, loadClipImageProcessorConfig } from "./clip-image-processor.js"
import type { ClipImageProcessorConfig } from "./clip-image-processor.js"
import { IpAdapterInputError, IpAdapterModelError } from "./errors.js"
import { ImageEncoder } from "./image-encoder.js"
import { projectImageEmbeds } from "./image-projection.js"
import { ipAdapterAttention } from "./ip-adapter-attention.js"
import { readAnyIpAdapterWeights } from "./ip-adapter-weights.js"
import type { AnyIpAdapterWeights } from "./ip-adapter-weights.js"
import { projectPlusHiddenStates } from "./plus-image-projection.js"
import { PlusProjectionSession } from "./plus-projection-session.js"
import type { ConditionedTokens } from "./row-tokens.js"

/** Options of {@link loadIpAdapter}. */
export interface LoadIpAdapterOptions {
  /**
   * The IP-Adapter checkpoint in the published key layout: `.safetensors`, or a PyTorch `.bin` (read weights-only).
   * Base (`image_proj.proj`) and Plus / Plus Face (`image_proj.latents`) adapters; the variant is read from the keys.
   */
  readonly weights: string
  /** `image_encoder/` folder (CLIP vision with projection, ONNX). Optional when only precomputed embeddings are used. */
  readonly imageEncoder?: string
  /**
   * `feature_extractor/` folder (`preprocessor_config.json`). Default, as diffusers: CLIP preprocessing at the
   * encoder's input size.
   */
  readonly featureExtractor?: string
  /** onnxruntime session options for the image encoder (execution providers, threads, …). */
  readonly sessionOptions?: SessionOptions
}

/**
 * Image embeddings prepared for a run: `positive` `[N, n, D]` (base; `negative` zeros of the same shape) or
 * `[N, n, seq, D]` penultimate hidden states (Plus; `negative` those of a zero image).
 */
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
  readonly weights: AnyIpAdapterWeights
  readonly imageEncoder: ImageEncoder | undefined
  readonly processor: ClipImageProcessorConfig
  readonly #zeroImageHiddenStates = new Map<string, Tensor<"float32">>()
  readonly #sessionOptions: SessionOptions
  #projection: Promise<PlusProjectionSession> | undefined

  constructor(weights: AnyIpAdapterWeights, imageEncoder: ImageEncoder | undefined, processor: ClipImageProcessorConfig, sessionOptions: SessionOptions = {}) {
    this.weights = weights
    this.imageEncoder = imageEncoder
    this.processor = processor
    this.#sessionOptions = sessionOptions
  }

  /** The hook kind to install on the UNet (see {@link ipAdapterAttention}). */
  hook(): HookKind {
    return ipAdapterAttention(this.weights)
  }

  /** CLIP `pixel_values` `[N, 3, S, S]` of the images. */
  preprocess(image: IpAdapterImage): Tensor<"float32"> {
    return clipPreprocess(image, this.processor)
  }

  /** `"plus"` for IP-Adapter Plus weights, else `"base"`. */
  get variant(): "base" | "plus" {
    return this.weights.variant === "plus" ? "plus" : "base"
  }

  /**
   * What the projection takes, of the images (preprocessing + image encoder): `image_embeds` `[N, D]` (base) or
   * the penultimate hidden states `[N, seq, D]` (Plus).
   */
  async encodeImage(image: IpAdapterImage): Promise<Tensor<"float32">> {
    return this.#encodePixels(this.preprocess(image))
  }

  async #encodePixels(pixelValues: Tensor<"float32">): Promise<Tensor<"float32">> {
    if (this.imageEncoder === undefined) {
      throw new IpAdapterModelError("this IP-Adapter was loaded without an image encoder; pass imageEncoder to loadIpAdapter, or give precomputed imageEmbeds.")
    }
    const plus = this.variant === "plus"
    const embeds = plus ? await this.imageEncoder.encodeHiddenStates(pixelValues) : await this.imageEncoder.encode(pixelValues)
    const width = embeds.shape[embeds.rank - 1]
    if (width !== this.weights.imageEmbedDim) {
      throw new IpAdapterModelError(
        plus
          ? `the image encoder's hidden states are ${width} wide, but the IP-Adapter Plus projection (proj_in) expects ${this.weights.imageEmbedDim}. Use the image encoder the adapter was trained with (ViT-H for ip-adapter-plus_sdxl_vit-h).`
          : `the image encoder gives ${width}-wide image_embeds, but the IP-Adapter projection expects ${this.weights.imageEmbedDim}. Use the image encoder the IP-Adapter was trained with.`,
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
    const plus = this.variant === "plus"
    const rank = plus ? 4 : 3 // [rows, images, (seq,) D]
    let positive: Tensor<"float32">
    let negative: Tensor<"float32"> | undefined
    if (options.imageEmbeds !== undefined) {
      const e = options.imageEmbeds
      const given = e.rank === rank - 1 ? e.reshape([e.shape[0]!, 1, ...e.shape.slice(1)]) : e
      if (given.rank !== rank || given.shape[rank - 1] !== this.weights.imageEmbedDim) {
        throw new IpAdapterInputError(
          plus
            ? `imageEmbeds for IP-Adapter Plus must be the image encoder's penultimate hidden states [rows, images, seq, ${this.weights.imageEmbedDim}], found ${e.describe()}.`
            : `imageEmbeds must be [rows, images, ${this.weights.imageEmbedDim}], found ${e.describe()}.`,
        )
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
      const pixelValues = this.preprocess(options.image)
      const embeds = await this.#encodePixels(pixelValues) // [n images, D] or [n images, seq, D]
      positive = embeds.reshape([1, ...embeds.shape])
      if (plus) {
        // diffusers encode_image: the negative is the encoding of torch.zeros_like(image), not zero embeddings;
        // it depends only on the pixel shape, so it is encoded once per shape
        const key = pixelValues.shape.join("x")
        let zeros = this.#zeroImageHiddenStates.get(key)
        if (zeros === undefined) {
          zeros = await this.#encodePixels(Tensor.zeros(pixelValues.shape))
          this.#zeroImageHiddenStates.set(key, zeros)
        }
        negative = zeros.reshape([1, ...zeros.shape])
      }
    } else {
      throw new IpAdapterInputError("prepareImageEmbeds needs an image or precomputed imageEmbeds.")
    }
    positive = repeatRows(positive, batch)
    negative = negative === undefined ? Tensor.zeros(positive.shape) : repeatRows(negative, batch)
    return { positive, negative }
  }

  /**
   * Image tokens for a run, ready for {@link imageTokensForRows} (`ip_adapter_image_tokens`): from images or
   * precomputed embeddings, as {@link prepareImageEmbeds} then {@link imageTokens} on each side.
   *
   * @example
   * const tokens = await ip.prepareImageTokens({ image, doClassifierFreeGuidance: true, batchSize: 1 })
   * const feed = imageTokensForRows(tokens, pass.rows) // [rows, n · T, C]
   */
  async prepareImageTokens(options: Parameters<IpAdapter["prepareImageEmbeds"]>[0]): Promise<ConditionedTokens & { readonly uncond: Tensor<"float32"> }> {
    const { positive, negative } = await this.prepareImageEmbeds(options)
    return { cond: await this.projectImageTokens(positive), uncond: await this.projectImageTokens(negative) }
  }

  /**
   * {@link imageTokens}, with the Plus projection run by onnxruntime (a graph built from the weights on first use,
   * float32 GEMMs; seconds faster per image at SDXL sizes than the JS float64 path). Base adapters: as imageTokens.
   */
  async projectImageTokens(imageEmbeds: Tensor): Promise<Tensor<"float32">> {
    const w = this.weights
    if (w.variant !== "plus") return projectImageEmbeds(w, imageEmbeds)
    this.#projection ??= PlusProjectionSession.create(w.projection, this.#sessionOptions)
    return (await this.#projection).project(imageEmbeds)
  }

  /** Frees the image encoder's session (once, also when shared with other adapters) and the projection's. */
  async release(): Promise<void> {
    const projection = this.#projection
    this.#projection = undefined
    await Promise.all([this.imageEncoder?.release(), projection?.then((p) => p.release())])
  }

  /**
   * Image tokens `[N, n · T, C]` (computed in JS; the Plus projection in float64, see {@link projectImageTokens} for
   * the fast path) of embeddings `[N, n, D]` (or `[N, D]`) for a base adapter, of hidden states
   * `[N, n, seq, D]` (or `[N, seq, D]`) for a Plus adapter.
   */
  imageTokens(imageEmbeds: Tensor): Tensor<"float32"> {
    const w = this.weights
    return w.variant === "plus" ? projectPlusHiddenStates(w.projection, imageEmbeds) : projectImageEmbeds(w, imageEmbeds)
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
  const [adapter] = await loadIpAdapters({ ...options, weights: [options.weights] })
  return adapter!
}

/**
 * Loads several IP-Adapters sharing one image encoder and feature extractor (diffusers' `load_ip_adapter` with a list
 * of `weight_name`s): the encoder is loaded once, with the penultimate hidden states exposed when any adapter is Plus.
 *
 * @example
 * const [plus, base] = await loadIpAdapters({ weights: ["ip-adapter-plus_sdxl_vit-h.bin", "ip-adapter_sdxl_vit-h.safetensors"], imageEncoder: "models/image_encoder" })
 */
export async function loadIpAdapters(options: Omit<LoadIpAdapterOptions, "weights"> & { readonly weights: readonly string[] }): Promise<IpAdapter[]> {
  if (options.weights.length === 0) throw new IpAdapterInputError("loadIpAdapters needs at least one weights file, found an empty list.")
  const all = await Promise.all(options.weights.map((w) => readAnyIpAdapterWeights(w)))
  // the encoder session is released if anything after it fails
  return withLoadScope(async (scope) => {
    const encoder =
      options.imageEncoder === undefined
        ? undefined
        : scope.own(await ImageEncoder.load(options.imageEncoder, { ...options.sessionOptions, penultimateHiddenStates: all.some((w) => w.variant === "plus") }))
    let processor: ClipImageProcessorConfig
    if (options.featureExtractor !== undefined) processor = await loadClipImageProcessorConfig(options.featureExtractor)
    else {
      const size = encoder?.imageSize ?? 224
      processor = { ...CLIP_DEFAULTS, size: { shortestEdge: size }, cropSize: { height: size, width: size } }
    }
    return all.map((weights) => new IpAdapter(weights, encoder, processor, options.sessionOptions))
  })
}
