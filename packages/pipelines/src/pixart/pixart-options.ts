import type { Tensor, TorchGenerator } from "@pagkit/tensor"
import type { StepEvent } from "../denoising-loop.js"

/** How PAG layer patterns are matched against the transformer's self-attention module paths. */
export type PagLayerMatching = "diffusers" | "strict"

/** diffusers' default `pag_applied_layers` for PixArt-Sigma. */
export const PIXART_DEFAULT_PAG_LAYERS: readonly string[] = Object.freeze(["blocks.1"])

/** Options of the pipeline itself (not of one call). */
export interface PixArtSigmaPipelineOptions {
  /** `pag_applied_layers`: patterns over self-attention module paths. Default `["blocks.1"]` (diffusers' default). */
  readonly pagAppliedLayers?: string | readonly string[]
  /**
   * `"diffusers"` (default): unanchored `re.search` like diffusers, so `"blocks.1"` hits blocks 1, 10, 11, … ;
   * `"strict"`: numbers match whole path components, so `"blocks.1"` is block 1 only.
   */
  readonly pagLayerMatching?: PagLayerMatching
  /** `"batched"` (default): one transformer call per step; `"separate"`: one per branch (lower peak memory). */
  readonly passes?: "batched" | "separate"
}

/** Arguments of one call, named as diffusers' `PixArtSigmaPAGPipeline.__call__` in camelCase. */
export interface PixArtSigmaCallOptions {
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
  /** Default `sample_size · vae_scale_factor`. */
  readonly height?: number
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
  readonly promptAttentionMask?: Tensor
  readonly negativePromptEmbeds?: Tensor<"float32">
  readonly negativePromptAttentionMask?: Tensor
  /** Called after each scheduler step with the latents (diffusers' step-end callback). */
  readonly onStep?: (event: StepEvent) => void | Promise<void>
  /** Receives warnings (prompt truncation) as they happen; they are also returned. Default: none. */
  readonly onWarning?: (message: string) => void
  /** Stops the run between steps. */
  readonly signal?: AbortSignal
}

/** What a call returns. */
export interface PixArtSigmaOutput {
  /** `[N, 3, H, W]` in [0, 1] at the requested size. */
  readonly images: Tensor<"float32">
  /** Final latents `[N, 4, h, w]` (at the binned size). */
  readonly latents: Tensor<"float32">
  /** Self-attention module paths PAG perturbed (empty when PAG was off). */
  readonly pagLayers: readonly string[]
  /** Warnings of the run (e.g. prompt truncated at `maxSequenceLength`). */
  readonly warnings: readonly string[]
}
