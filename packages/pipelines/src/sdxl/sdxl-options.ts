import type { Tensor, TorchGenerator } from "@pagkit/tensor"
import type { PromptInput, SizeHW } from "@pagkit/models-sdxl"
import type { GuidanceCallOptions } from "../guidance-options.js"
import type { StepEvent } from "../denoising-loop.js"
import type { ImageInput } from "../image-input.js"
import { InvalidOptionError } from "../errors.js"
import type { ControlNetCallOptions, IpAdapterCallOptions } from "./unet-extras.js"

/**
 * Arguments every SDXL pipeline call takes: diffusers' `__call__` arguments in camelCase. The IP-Adapter options
 * apply once `loadIpAdapter` ran; the ControlNet options to pipelines made with `controlnet`.
 */
export interface SdxlCallOptions extends GuidanceCallOptions, IpAdapterCallOptions, ControlNetCallOptions {
  /** What to draw: one prompt, or one per image of the batch (diffusers' `prompt`). Needed unless `promptEmbeds` is given. */
  readonly prompt?: PromptInput
  /** Prompt for the second text encoder (`prompt_2`); defaults to `prompt`. */
  readonly prompt2?: PromptInput
  /** What to steer away from, used when CFG is on (`negative_prompt`); default empty (zero embeddings when model_index.json has `force_zeros_for_empty_prompt`, as in diffusers). */
  readonly negativePrompt?: PromptInput
  /** Negative prompt for the second text encoder (`negative_prompt_2`); defaults to `negativePrompt`. */
  readonly negativePrompt2?: PromptInput
  /** Precomputed text embeddings `[B, 77, D]` (D = 2048 for SDXL) instead of `prompt` (`prompt_embeds`); needs `pooledPromptEmbeds`. */
  readonly promptEmbeds?: Tensor<"float32">
  /** Precomputed pooled embeddings `[B, D₂]` (1280 for SDXL) of the second encoder (`pooled_prompt_embeds`). */
  readonly pooledPromptEmbeds?: Tensor<"float32">
  /** Precomputed negative text embeddings `[B, 77, D]` (`negative_prompt_embeds`). */
  readonly negativePromptEmbeds?: Tensor<"float32">
  /** Precomputed negative pooled embeddings `[B, D₂]` (`negative_pooled_prompt_embeds`). */
  readonly negativePooledPromptEmbeds?: Tensor<"float32">
  /** Default 50. */
  readonly numInferenceSteps?: number
  /** Explicit timesteps or sigmas, where the scheduler accepts them. */
  readonly timesteps?: readonly number[]
  /** Explicit sigmas, where the scheduler accepts them (`sigmas`); exclusive with `timesteps`. */
  readonly sigmas?: readonly number[]
  /** Fraction of the schedule after which to stop (hand-off to a refiner). */
  readonly denoisingEnd?: number
  /** Default 1. */
  readonly numImagesPerPrompt?: number
  /** Seed of the torch-compatible generator (diffusers' `torch.Generator("cpu").manual_seed(seed)`). */
  readonly seed?: number | bigint
  /** A generator to draw from instead of `seed` (its stream continues). */
  readonly generator?: TorchGenerator
  /** Starting noise `[N, 4, h, w]` instead of drawing it. */
  readonly latents?: Tensor<"float32">
  /** SDXL micro-conditioning `(height, width)` of the "original" image (`original_size`); default the output size. */
  readonly originalSize?: SizeHW
  /** SDXL micro-conditioning crop origin `(top, left)` (`crops_coords_top_left`); default `[0, 0]` (centred-looking images). */
  readonly cropsCoordsTopLeft?: SizeHW
  /** SDXL micro-conditioning target `(height, width)` (`target_size`); default the output size. */
  readonly targetSize?: SizeHW
  /** `originalSize` of the negative conditioning (`negative_original_size`); default the positive one. */
  readonly negativeOriginalSize?: SizeHW
  /** `cropsCoordsTopLeft` of the negative conditioning (`negative_crops_coords_top_left`); default the positive one. */
  readonly negativeCropsCoordsTopLeft?: SizeHW
  /** `targetSize` of the negative conditioning (`negative_target_size`); default the positive one. */
  readonly negativeTargetSize?: SizeHW
  /** CLIP layers to skip from the end for the prompt embeddings (`clip_skip`); default 0 (the penultimate layer, as SDXL was trained). */
  readonly clipSkip?: number
  /** DDIM's η, for schedulers whose step takes it (diffusers' `eta`). */
  readonly eta?: number
  /** `"batched"` (default): one UNet call per step; `"separate"`: one per branch (lower peak memory, same result). */
  readonly passes?: "batched" | "separate"
  /** `"tensor"` (default) decodes images; `"latent"` returns latents only. */
  readonly outputType?: "tensor" | "latent"
  /** Called after every denoising step with the step index, count, timestep and latents (diffusers' `callback_on_step_end`); may be async. */
  readonly onStep?: (event: StepEvent) => void | Promise<void>
  /** Aborts the run between steps: the call rejects with an `AbortedError` and returns no image. */
  readonly signal?: AbortSignal
  /** Keep going when latents or decoded images hold NaN/±Infinity (default false: a `NonFiniteError` names the step). */
  readonly allowNonFinite?: boolean
  /** `"full"` (default), `"split"` or `"auto"`: how PAG's perturbed rows run (see `CoreCallOptions.execution`). */
  readonly execution?: "auto" | "split" | "full"
}

/** Text-to-image arguments. */
export interface SdxlText2ImageOptions extends SdxlCallOptions {
  /** The control image(s) of a ControlNet pipeline, one per ControlNet (diffusers' `image`). */
  readonly image?: ImageInput | readonly ImageInput[]
  /** Output height in pixels, a multiple of 8; default the UNet's `sample_size · vae_scale_factor`. */
  readonly height?: number
  /** Output width in pixels, a multiple of 8; default the UNet's `sample_size · vae_scale_factor`. */
  readonly width?: number
}

/** Image-to-image arguments. */
export interface SdxlImage2ImageOptions extends SdxlCallOptions {
  /** The image to start from: a file path, encoded bytes or a tensor `[N, 3, H, W]` in [0, 1] (diffusers' `image`). */
  readonly image: ImageInput
  /** Default 0.3. */
  readonly strength?: number
  /** Fraction of the schedule already done (`denoising_start`, for refiner hand-off); overrides `strength`. */
  readonly denoisingStart?: number
  /** Default 6 (used when the model requires aesthetic scores). */
  readonly aestheticScore?: number
  /** Default 2.5. */
  readonly negativeAestheticScore?: number
  /** The control image(s) of a ControlNet pipeline, one per ControlNet. */
  readonly controlImage?: ImageInput | readonly ImageInput[]
}

/** Inpainting arguments. */
export interface SdxlInpaintOptions extends SdxlImage2ImageOptions {
  /** White (≥ 0.5) where to repaint. */
  readonly maskImage: ImageInput
  /** Output height in pixels; default the image's height rounded down to a multiple of the VAE scale factor. */
  readonly height?: number
  /** Output width in pixels; default the image's width rounded down to a multiple of the VAE scale factor. */
  readonly width?: number
  /** Crop margin around the mask: repaint a crop and paste it back. */
  readonly paddingMaskCrop?: number
}

const common = [
  "prompt", "prompt2", "negativePrompt", "negativePrompt2", "promptEmbeds", "pooledPromptEmbeds", "negativePromptEmbeds",
  "negativePooledPromptEmbeds", "numInferenceSteps", "timesteps", "sigmas", "denoisingEnd", "numImagesPerPrompt", "seed",
  "generator", "latents", "originalSize", "cropsCoordsTopLeft", "targetSize", "negativeOriginalSize",
  "negativeCropsCoordsTopLeft", "negativeTargetSize", "clipSkip", "eta", "passes", "outputType", "onStep", "signal",
  "guidanceScale", "guidanceRescale", "pagScale", "pagAdaptiveScale", "guidance", "skipGuidanceLayers", "skipLayerGuidanceScale",
  "skipLayerGuidanceStart", "skipLayerGuidanceStop", "allowNonFinite", "execution",
]

/** Option names each task accepts. */
export const knownOptions = {
  text2image: new Set([...common, "height", "width"]),
  image2image: new Set([...common, "image", "strength", "denoisingStart", "aestheticScore", "negativeAestheticScore"]),
  inpainting: new Set([
    ...common, "image", "strength", "denoisingStart", "aestheticScore", "negativeAestheticScore", "maskImage", "height",
    "width", "paddingMaskCrop",
  ]),
} as const

/** Options a pipeline with an IP-Adapter loaded also takes. */
export const ipAdapterOptionNames = ["ipAdapterImage", "ipAdapterImageEmbeds", "ipAdapterMasks"] as const

/** Options a ControlNet pipeline also takes (plus its control image). */
export const controlNetOptionNames = ["controlnetConditioningScale", "controlGuidanceStart", "controlGuidanceEnd"] as const

/** Throws naming any option the pipeline does not take (a typo must not be silently ignored). */
export function checkKnownOptions(options: object, accepted: ReadonlySet<string>, pipeline: string): void {
  const unknown = Object.keys(options).filter((k) => !accepted.has(k) && (options as Record<string, unknown>)[k] !== undefined)
  if (unknown.length > 0) {
    throw new InvalidOptionError(
      `${pipeline} does not take ${unknown.map((k) => `"${k}"`).join(", ")}. It takes: ${[...accepted].sort().join(", ")}.`,
    )
  }
}

/** Checks a number option against a range. */
export function checkNumber(name: string, value: number | undefined, range: { min?: number; max?: number; integer?: boolean; minExclusive?: boolean }): void {
  if (value === undefined) return
  const bad =
    typeof value !== "number" ||
    !Number.isFinite(value) ||
    (range.integer === true && !Number.isInteger(value)) ||
    (range.min !== undefined && (range.minExclusive === true ? value <= range.min : value < range.min)) ||
    (range.max !== undefined && value > range.max)
  if (bad) {
    const bounds = `${range.min === undefined ? "" : `${range.minExclusive === true ? ">" : ">="} ${range.min}`}${range.min !== undefined && range.max !== undefined ? " and " : ""}${range.max === undefined ? "" : `<= ${range.max}`}`
    throw new InvalidOptionError(`${name} must be ${range.integer === true ? "a whole number " : "a number "}${bounds}, found ${String(value)}.`)
  }
}
