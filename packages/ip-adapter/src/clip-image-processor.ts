// transformers' CLIP image processor: convert RGB, resize the shortest edge, center crop, rescale, normalize.
// Two flavors, both bit-exact: "torch" = the fast processor transformers ≥ 5 uses by default
// (`image_processing_utils_fast.py`: torchvision resize on uint8 with antialias, `F.center_crop` with round(),
// rescale fused into mean/std); "pil" = the slow `CLIPImageProcessor` (`image_processing_clip.py`,
// `image_transforms.py`: PIL resize, floor center crop, rescale then normalize).
import { readFile } from "node:fs/promises"
import path from "node:path"
import { Tensor, pilResize, tensorToPixels8 } from "@pagkit/tensor"
import type { PilFilter, Pixels8, ResampleFlavor } from "@pagkit/tensor"
import { IpAdapterInputError, IpAdapterModelError } from "./errors.js"

/** The fields of `preprocessor_config.json` that CLIP preprocessing uses. */
export interface ClipImageProcessorConfig {
  readonly doResize: boolean
  /** `size.shortest_edge`, or `size.height`/`width` for a fixed size. */
  readonly size: { readonly shortestEdge: number } | { readonly height: number; readonly width: number }
  readonly resample: PilFilter
  readonly doCenterCrop: boolean
  readonly cropSize: { readonly height: number; readonly width: number }
  readonly doRescale: boolean
  readonly rescaleFactor: number
  readonly doNormalize: boolean
  readonly imageMean: readonly number[]
  readonly imageStd: readonly number[]
  /** Whose arithmetic to reproduce: `"torch"` (transformers' fast processor, its default since v5) or `"pil"`. */
  readonly flavor: ResampleFlavor
}

/** OpenAI CLIP's defaults (what transformers uses when a key is absent), 224×224. */
export const CLIP_DEFAULTS: ClipImageProcessorConfig = {
  doResize: true,
  size: { shortestEdge: 224 },
  resample: "bicubic",
  doCenterCrop: true,
  cropSize: { height: 224, width: 224 },
  doRescale: true,
  rescaleFactor: 1 / 255,
  doNormalize: true,
  imageMean: [0.48145466, 0.4578275, 0.40821073],
  imageStd: [0.26862954, 0.26130258, 0.27577711],
  flavor: "torch",
}

/** PIL's `Image.Resampling` numbers. */
const PIL_RESAMPLE: Record<number, PilFilter> = { 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming" }

function sizeOf(value: unknown, fallback: number): { height: number; width: number } {
  if (typeof value === "number") return { height: value, width: value }
  const v = value as { height?: number; width?: number } | undefined
  return { height: v?.height ?? fallback, width: v?.width ?? fallback }
}

/**
 * Parses a `preprocessor_config.json` object (unknown keys ignored, missing ones = CLIP defaults). `flavor`
 * defaults to `"torch"` (transformers' fast processor) unless the file says `"use_fast": false`.
 */
export function parseClipImageProcessorConfig(
  json: Record<string, unknown>,
  flavor: ResampleFlavor = json["use_fast"] === false ? "pil" : "torch",
): ClipImageProcessorConfig {
  const rawSize = json["size"] as Record<string, number> | number | undefined
  const size =
    rawSize === undefined
      ? CLIP_DEFAULTS.size
      : typeof rawSize === "number"
        ? { shortestEdge: rawSize }
        : rawSize["shortest_edge"] !== undefined
          ? { shortestEdge: rawSize["shortest_edge"] }
          : sizeOf(rawSize, 224)
  const resampleCode = (json["resample"] as number | undefined) ?? 3
  const resample = PIL_RESAMPLE[resampleCode]
  if (resample === undefined) {
    throw new IpAdapterModelError(
      `preprocessor_config.json: resample ${resampleCode} is not supported; expected one of ${Object.keys(PIL_RESAMPLE).join(", ")} (PIL Resampling codes; 3 = bicubic).`,
    )
  }
  return {
    doResize: (json["do_resize"] as boolean | undefined) ?? true,
    size,
    resample,
    doCenterCrop: (json["do_center_crop"] as boolean | undefined) ?? true,
    cropSize: json["crop_size"] === undefined ? CLIP_DEFAULTS.cropSize : sizeOf(json["crop_size"], 224),
    doRescale: (json["do_rescale"] as boolean | undefined) ?? true,
    rescaleFactor: (json["rescale_factor"] as number | undefined) ?? 1 / 255,
    doNormalize: (json["do_normalize"] as boolean | undefined) ?? true,
    imageMean: (json["image_mean"] as number[] | undefined) ?? CLIP_DEFAULTS.imageMean,
    imageStd: (json["image_std"] as number[] | undefined) ?? CLIP_DEFAULTS.imageStd,
    flavor,
  }
}

/** Reads `preprocessor_config.json` from a feature-extractor folder (or the file itself). */
export async function loadClipImageProcessorConfig(folderOrFile: string): Promise<ClipImageProcessorConfig> {
  const file = folderOrFile.endsWith(".json") ? folderOrFile : path.join(folderOrFile, "preprocessor_config.json")
  let text: string
  try {
    text = await readFile(file, "utf8")
  } catch (cause) {
    throw new IpAdapterModelError(
      `cannot read "${file}": ${(cause as Error).message}. Pass the feature_extractor folder of the pipeline (it holds preprocessor_config.json).`,
      { cause },
    )
  }
  return parseClipImageProcessorConfig(JSON.parse(text) as Record<string, unknown>)
}

/** transformers `get_resize_output_image_size(default_to_square=False)`: short side to `edge`, long side truncated. */
export function shortestEdgeSize(width: number, height: number, edge: number): { width: number; height: number } {
  if (width <= height) return { width: edge, height: Math.trunc((edge * height) / width) }
  return { width: Math.trunc((edge * width) / height), height: edge }
}

/** Python's `round()` (half to even). */
function roundHalfEven(x: number): number {
  const r = Math.round(x)
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r
}

function centerCrop(image: Pixels8, crop: { height: number; width: number }, flavor: ResampleFlavor): Pixels8 {
  if (crop.height > image.height || crop.width > image.width) {
    throw new IpAdapterInputError(
      `center crop ${crop.width}×${crop.height} is larger than the resized image ${image.width}×${image.height}; padding is not supported. Use a feature extractor whose size.shortest_edge ≥ crop_size.`,
    )
  }
  // torchvision `_center_crop_compute_crop_anchor` rounds; transformers' numpy `center_crop` floors
  const anchor = (d: number): number => (flavor === "torch" ? roundHalfEven(d / 2) : Math.floor(d / 2))
  const top = anchor(image.height - crop.height)
  const left = anchor(image.width - crop.width)
  const c = image.channels
  const data = new Uint8Array(crop.height * crop.width * c)
  for (let y = 0; y < crop.height; y++) {
    const from = ((top + y) * image.width + left) * c
    data.set(image.data.subarray(from, from + crop.width * c), y * crop.width * c)
  }
  return { data, width: crop.width, height: crop.height, channels: c }
}

/**
 * CLIP image preprocessing of one or more images (`[N, 3, H, W]` in [0, 1], e.g. from `loadImage`), bit-exact with
 * transformers' CLIP image processor of the config's flavor: antialiased uint8 resize of the shortest edge, center
 * crop, then rescale and normalize in float32. Returns `pixel_values` `[N, 3, crop, crop]`.
 *
 * @example
 * const pixelValues = clipPreprocess(await loadImage("ref.png"), await loadClipImageProcessorConfig("feature_extractor"))
 */
export function clipPreprocess(images: Tensor | readonly Tensor[], config: ClipImageProcessorConfig): Tensor<"float32"> {
  const list = Array.isArray(images) ? (images as readonly Tensor[]) : [images as Tensor]
  const outputs: Float32Array[] = []
  let shape: [number, number] | undefined
  for (const batch of list) {
    const t = batch.rank === 3 ? batch.reshape([1, ...batch.shape]) : batch
    if (t.rank !== 4 || (t.shape[1] !== 3 && t.shape[1] !== 1)) {
      throw new IpAdapterInputError(`IP-Adapter image must be [N, 3, H, W] RGB (or 1-channel gray) in [0, 1], found ${t.describe()}.`)
    }
    for (let n = 0; n < t.shape[0]!; n++) {
      let pixels = tensorToPixels8(t, n)
      if (pixels.channels === 1) {
        // do_convert_rgb: gray -> RGB
        const rgb = new Uint8Array(pixels.data.length * 3)
        pixels.data.forEach((v, i) => rgb.fill(v, i * 3, i * 3 + 3))
        pixels = { ...pixels, data: rgb, channels: 3 }
      }
      if (config.doResize) {
        const target = "shortestEdge" in config.size ? shortestEdgeSize(pixels.width, pixels.height, config.size.shortestEdge) : config.size
        if (target.width !== pixels.width || target.height !== pixels.height) {
          pixels = pilResize(pixels, { ...target, filter: config.resample, flavor: config.flavor })
        }
      }
      if (config.doCenterCrop) pixels = centerCrop(pixels, config.cropSize, config.flavor)
      if (shape !== undefined && (shape[0] !== pixels.height || shape[1] !== pixels.width)) {
        throw new IpAdapterInputError(`preprocessed images differ in size (${shape[1]}×${shape[0]} vs ${pixels.width}×${pixels.height}); enable center crop.`)
      }
      shape = [pixels.height, pixels.width]
      outputs.push(normalizePlanes(pixels, config))
    }
  }
  const [h, w] = shape ?? [0, 0]
  const out = new Float32Array(outputs.length * 3 * h * w)
  outputs.forEach((o, i) => out.set(o, i * o.length))
  return new Tensor("float32", out, [outputs.length, 3, h, w])
}

function normalizePlanes(pixels: Pixels8, config: ClipImageProcessorConfig): Float32Array {
  const plane = pixels.width * pixels.height
  const out = new Float32Array(plane * 3)
  const f = Math.fround
  for (let ch = 0; ch < 3; ch++) {
    const mean = f(config.imageMean[ch] ?? 0)
    const std = f(config.imageStd[ch] ?? 1)
    if (config.flavor === "torch" && config.doRescale && config.doNormalize) {
      // `_fuse_mean_std_and_rescale_factor`: mean and std scaled by 1/rescale in float32, then (x − mean) / std
      const inverse = f(1 / config.rescaleFactor)
      const fusedMean = f(mean * inverse)
      const fusedStd = f(std * inverse)
      for (let p = 0; p < plane; p++) out[ch * plane + p] = f(f(pixels.data[p * 3 + ch]! - fusedMean) / fusedStd)
      continue
    }
    for (let p = 0; p < plane; p++) {
      let x = pixels.data[p * 3 + ch]!
      if (config.doRescale) x = f(x * config.rescaleFactor)
      if (config.doNormalize) x = f(f(x - mean) / std)
      out[ch * plane + p] = x
    }
  }
  return out
}
