import type { LayerMatching } from "../layer-resolver.js"
import type { Tensor, TorchGenerator } from "@pagkit/tensor"
import type { GuidanceChain, GuidanceJSON } from "@pagkit/guidance"
import type { StepEvent } from "../denoising-loop.js"
import { PipelineOutput } from "../output.js"

/** How PAG layer patterns are matched against the transformer's self-attention module paths. */

/** diffusers' default `pag_applied_layers` for PixArt-Sigma. */
export const PIXART_DEFAULT_PAG_LAYERS: readonly string[] = Object.freeze(["blocks.1"])

/** Options of the pipeline itself (not of one call). */
export interface PixArtSigmaPipelineOptions {
  /** `false` makes diffusers' plain `PixArtSigmaPipeline` (no PAG branch); default true (`PixArtSigmaPAGPipeline`). */
  readonly enablePag?: boolean
  /** `pag_applied_layers`: patterns over self-attention module paths. Default `["blocks.1"]` (diffusers' default). */
  readonly pagAppliedLayers?: string | readonly string[]
  /**
   * `"diffusers"` (default): unanchored `re.search` like diffusers, so `"blocks.1"` hits blocks 1, 10, 11, … ;
   * `"strict"`: numbers match whole path components, so `"blocks.1"` is block 1 only.
   */
  readonly layerMatching?: LayerMatching
  /** `"batched"` (default): one transformer call per step; `"separate"`: one per branch (lower peak memory). */
  readonly passes?: "batched" | "separate"
}

/** Arguments of one call, named as diffusers' `PixArtSigmaPAGPipeline.__call__` in camelCase. */
export interface PixArtSigmaCallOptions {
  /** What to draw: one prompt, or one per image of the batch (diffusers' `prompt`). Needed unless `promptEmbeds` is given. */
  readonly prompt?: string | readonly string[]
  /** Default `""` (encoded, not zeros). */
  readonly negativePrompt?: string | readonly string[]
  /** Default 20. */
  readonly numInferenceSteps?: number
  /** Custom timesteps (descending) instead of `numInferenceSteps`, where the scheduler supports them. */
  readonly timesteps?: readonly number[]
  /** Custom sigmas instead of `numInferenceSteps`, where the scheduler supports them. */
  readonly sigmas?: readonly number[]
  /** Default 4.5; CFG is on when > 1. */
  readonly guidanceScale?: number
  /** Default 3; 0 turns PAG off. */
  readonly pagScale?: number
  /** Default 0: `s_t = max(0, s − a·(1000 − t))`. */
  readonly pagAdaptiveScale?: number
  /**
   * A ready guidance chain instead of `guidanceScale` / `pagScale` / `pagAdaptiveScale` (e.g. with a PAG window);
   * its layer patterns are matched with the pipeline's `layerMatching`.
   */
  readonly guidance?: GuidanceChain | GuidanceJSON
  /** SD3-style skip-layer guidance: DiT block indices or block patterns (see `GuidanceCallOptions`). */
  readonly skipGuidanceLayers?: readonly (string | number)[]
  readonly skipLayerGuidanceScale?: number
  readonly skipLayerGuidanceStart?: number
  readonly skipLayerGuidanceStop?: number
  /** Output height in pixels; default `sample_size · vae_scale_factor`. */
  readonly height?: number
  /** Output width in pixels; default `sample_size · vae_scale_factor`. */
  readonly width?: number
  /** Default 1. */
  readonly numImagesPerPrompt?: number
  /** Seeds a `TorchGenerator` (torch's `Generator("cpu").manual_seed(seed)`); ignored when `generator` is given. */
  readonly seed?: number | bigint
  /** One generator, or one per image. */
  readonly generator?: TorchGenerator | readonly TorchGenerator[]
  /** Starting latents `[B·n, 4, h, w]` instead of drawn noise (then multiplied by `init_noise_sigma`). */
  readonly latents?: Tensor<"float32">
  /** Default true: generate at the closest aspect-ratio bin and resize back. */
  readonly useResolutionBinning?: boolean
  /** Default 300. */
  readonly maxSequenceLength?: number
  /** Ready T5 embeddings `[B, L, D]` with masks `[B, L]` instead of prompts. */
  readonly promptEmbeds?: Tensor<"float32">
  /** Mask `[B, L]` of `promptEmbeds` (1 for tokens, 0 for padding); required with it. */
  readonly promptAttentionMask?: Tensor
  /** Ready negative T5 embeddings `[B, L, D]`, with `negativePromptAttentionMask`. */
  readonly negativePromptEmbeds?: Tensor<"float32">
  /** Mask `[B, L]` of `negativePromptEmbeds`. */
  readonly negativePromptAttentionMask?: Tensor
  /** Called after each scheduler step with the latents (diffusers' step-end callback). */
  readonly onStep?: (event: StepEvent) => void | Promise<void>
  /** Receives warnings (prompt truncation, layer-matching notes); they are also returned. Default: none. */
  readonly onWarning?: (message: string) => void
  /** `"tensor"` (default): decoded images; `"latent"`: skip the VAE. */
  readonly outputType?: "tensor" | "latent"
  /** Overrides the pipeline's `passes` for this call. */
  readonly passes?: "batched" | "separate"
  /** Stops the run between steps. */
  readonly signal?: AbortSignal
  /** Keep going when latents or decoded images hold NaN/±Infinity (default false). */
  readonly allowNonFinite?: boolean
  /** `"full"` (default), `"split"` or `"auto"`: how PAG's perturbed rows run (see `CoreCallOptions.execution`). */
  readonly execution?: "auto" | "split" | "full"
}

/** Every option name {@link PixArtSigmaCallOptions} has (a misspelt option must not be silently ignored). */
export const PIXART_CALL_OPTIONS: ReadonlySet<string> = new Set([
  "prompt", "negativePrompt", "numInferenceSteps", "timesteps", "sigmas", "guidanceScale", "pagScale", "pagAdaptiveScale",
  "guidance", "height", "width", "numImagesPerPrompt", "seed", "generator", "latents", "useResolutionBinning",
  "maxSequenceLength", "promptEmbeds", "promptAttentionMask", "negativePromptEmbeds", "negativePromptAttentionMask",
  "onStep", "onWarning", "outputType", "passes", "signal", "skipGuidanceLayers", "skipLayerGuidanceScale", "skipLayerGuidanceStart",
  "skipLayerGuidanceStop", "allowNonFinite", "execution",
])

/** What a call returns: the shared {@link PipelineOutput} plus the layers PAG perturbed. */
export class PixArtSigmaOutput extends PipelineOutput {
  /** Self-attention module paths PAG perturbed (empty when PAG was off). */
  readonly pagLayers: readonly string[]

  constructor(parts: ConstructorParameters<typeof PipelineOutput>[0] & { readonly pagLayers: readonly string[] }) {
    super(parts)
    this.pagLayers = parts.pagLayers
  }
}
