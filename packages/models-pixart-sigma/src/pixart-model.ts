import { resolveLayers } from "@pagkit/onnx"
import type { LayerPatternMode, ResolvedLayers } from "@pagkit/onnx"
import type { ModelIndex, SessionLike, Vae } from "@pagkit/models-core"
import { encodePixArtPrompt } from "./encode-prompt.js"
import type { PixArtEncodeOptions, PixArtPromptEmbeds, PixArtTokenizer } from "./encode-prompt.js"
import { planPixArtSize } from "./image-size.js"
import type { PixArtSizePlan, PixArtSizeRequest } from "./image-size.js"
import type { PixArtTransformer } from "./pixart-transformer.js"

/** The parts of a loaded PixArt-Sigma folder. */
export interface PixArtSigmaParts {
  readonly dir: string
  readonly index: ModelIndex
  readonly tokenizer: PixArtTokenizer
  readonly textEncoder: SessionLike
  readonly transformer: PixArtTransformer
  readonly vae: Vae
  /** `scheduler/scheduler_config.json` (DPMSolverMultistepScheduler for PixArt-Sigma). */
  readonly schedulerConfig: Readonly<Record<string, unknown>>
  /** The transformer's `model.onnx`, for installing other hook kinds later (absent for ready sessions). */
  readonly transformerPath?: string | undefined
  /** Frees the sessions of a model (optional; tests pass stand-ins). */
  readonly release?: (model: PixArtSigmaModel) => Promise<void>
}

/**
 * A loaded PixArt-Sigma model: T5 tokenizer and encoder, the hooked DiT transformer (identity-attention gates over
 * every self-attention layer, so PAG layers change without reloading), the VAE and the scheduler config.
 * Create with `loadPixArtSigma`.
 *
 * @example
 * const model = await loadPixArtSigma("models/tiny-pixart-sigma")
 * const layers = model.resolvePagLayers(["blocks.1"], "diffusers").layers // blocks 1, 10, 11
 */
export class PixArtSigmaModel {
  readonly dir: string
  readonly index: ModelIndex
  readonly tokenizer: PixArtTokenizer
  readonly textEncoder: SessionLike
  readonly transformer: PixArtTransformer
  readonly vae: Vae
  readonly schedulerConfig: Readonly<Record<string, unknown>>
  readonly transformerPath: string | undefined
  readonly #parts: PixArtSigmaParts

  constructor(parts: PixArtSigmaParts) {
    this.dir = parts.dir
    this.index = parts.index
    this.tokenizer = parts.tokenizer
    this.textEncoder = parts.textEncoder
    this.transformer = parts.transformer
    this.vae = parts.vae
    this.schedulerConfig = parts.schedulerConfig
    this.transformerPath = parts.transformerPath
    this.#parts = parts
  }

  /** The same model with another transformer (e.g. the graph with more hook kinds installed); other sessions shared. */
  withTransformer(transformer: PixArtTransformer): PixArtSigmaModel {
    return new PixArtSigmaModel({ ...this.#parts, transformer })
  }

  /** diffusers' `encode_prompt` (see {@link encodePixArtPrompt}). */
  encodePrompt(options: PixArtEncodeOptions): Promise<PixArtPromptEmbeds> {
    return encodePixArtPrompt(this, options)
  }

  /** Default size in pixels: `sample_size · vae_scale_factor` (32×32 for the tiny fixture, 1024×1024 for the real one). */
  get defaultSize(): { readonly height: number; readonly width: number } {
    const [h, w] = this.transformer.fixedLatentSize ?? [this.transformer.sampleSize, this.transformer.sampleSize]
    return { height: h * this.vae.scaleFactor, width: w * this.vae.scaleFactor }
  }

  /** Generation size for a request: defaults, resolution binning, fixed-size checks (see {@link planPixArtSize}). */
  planSize(request: PixArtSizeRequest): PixArtSizePlan {
    return planPixArtSize(request, {
      sampleSize: this.transformer.sampleSize,
      vaeScaleFactor: this.vae.scaleFactor,
      patchSize: this.transformer.patchSize,
      fixedLatentSize: this.transformer.fixedLatentSize,
    })
  }

  /**
   * Resolves PAG layer patterns to self-attention module paths. `"diffusers"`: an unanchored `re.search` per
   * module path, as diffusers does (`"blocks.1"` also hits blocks 10, 11, …); `"strict"`: numbers match whole
   * path components (`"blocks.1"` is block 1 only), with notes where diffusers would differ.
   */
  resolvePagLayers(patterns: readonly string[], mode: LayerPatternMode = "diffusers"): ResolvedLayers {
    return resolveLayers(this.transformer.selfAttentionLayers, patterns, { mode })
  }

  /** Frees the ONNX sessions. */
  async release(): Promise<void> {
    await this.#parts.release?.(this)
  }
}
