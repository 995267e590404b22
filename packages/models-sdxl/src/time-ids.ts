import { Tensor } from "@pagkit/tensor"
import { ModelInputError } from "@pagkit/models-core"

/** `[height, width]` in pixels. */
export type SizeHW = readonly [number, number]

/** The micro-conditioning of one image. */
export interface AddTimeIdsOptions {
  /** Size `[height, width]` of the "original" image SDXL is conditioned on. */
  readonly originalSize: SizeHW
  /** Default `[0, 0]`. */
  readonly cropsCoordsTopLeft?: SizeHW | undefined
  /** Target size `[height, width]` SDXL is conditioned on. */
  readonly targetSize: SizeHW
  /** Given: the 5-value form with the score in place of the target size. */
  readonly aestheticScore?: number | undefined
}

/**
 * SDXL micro-conditioning for one image: `original_size + crops_coords_top_left + target_size` (6 values), or
 * `original_size + crops_coords_top_left + (aesthetic_score,)` (5 values) when an aesthetic score is given
 * (pipelines with `requires_aesthetics_score`, e.g. the refiner).
 *
 * @example
 * addTimeIds({ originalSize: [1024, 1024], targetSize: [1024, 1024] }) // [1024, 1024, 0, 0, 1024, 1024]
 * addTimeIds({ originalSize: [1024, 1024], targetSize: [1024, 1024], aestheticScore: 6 }) // [1024, 1024, 0, 0, 6]
 */
export function addTimeIds(options: AddTimeIdsOptions): number[] {
  const { originalSize, targetSize, aestheticScore } = options
  const crops = options.cropsCoordsTopLeft ?? [0, 0]
  return aestheticScore === undefined ? [...originalSize, ...crops, ...targetSize] : [...originalSize, ...crops, aestheticScore]
}

/** Options of {@link sdxlTimeIds}; names follow the diffusers call arguments. */
export interface TimeIdsOptions {
  /** Default `[height, width]` of the output. */
  readonly originalSize: SizeHW
  /** Default `[0, 0]`. */
  readonly cropsCoordsTopLeft?: SizeHW | undefined
  /** Default `[height, width]` of the output. */
  readonly targetSize: SizeHW
  /** `originalSize` of the negative conditioning; default the positive one. */
  readonly negativeOriginalSize?: SizeHW | undefined
  /** `cropsCoordsTopLeft` of the negative conditioning; default the positive one. */
  readonly negativeCropsCoordsTopLeft?: SizeHW | undefined
  /** `targetSize` of the negative conditioning; default the positive one. */
  readonly negativeTargetSize?: SizeHW | undefined
  /** Used with `requiresAestheticsScore`. Default 6. */
  readonly aestheticScore?: number | undefined
  /** Default 2.5. */
  readonly negativeAestheticScore?: number | undefined
  /** `requires_aesthetics_score` of model_index.json (img2img / inpaint only). */
  readonly requiresAestheticsScore?: boolean | undefined
  /**
   * Which diffusers pipeline's rules to follow for the negatives: `"text2img"` (`_get_add_time_ids` of
   * `StableDiffusionXLPipeline`: negatives only when both negative sizes are given, with the negative crop) or
   * `"img2img"` (img2img / inpaint: negative sizes default to the positive ones; the 6-value form uses the
   * *positive* crop, as diffusers does). Default `"text2img"`.
   */
  readonly pipeline?: "text2img" | "img2img"
  /** Values per row the UNet's `time_ids` input takes (from its metadata), to check. */
  readonly expectedLength?: number | undefined
}

/** Positive and negative `add_time_ids` rows. */
export interface TimeIds {
  readonly timeIds: readonly number[]
  readonly negativeTimeIds: readonly number[]
}

/**
 * Positive and negative micro-conditioning for a pipeline call (diffusers `_get_add_time_ids` of the SDXL
 * text-to-image and image-to-image pipelines), checked against the UNet's `time_ids` width.
 */
export function sdxlTimeIds(options: TimeIdsOptions): TimeIds {
  const crops = options.cropsCoordsTopLeft ?? [0, 0]
  const negativeCrops = options.negativeCropsCoordsTopLeft ?? [0, 0]
  let timeIds: number[]
  let negativeTimeIds: number[]
  if ((options.pipeline ?? "text2img") === "text2img") {
    timeIds = addTimeIds({ originalSize: options.originalSize, cropsCoordsTopLeft: crops, targetSize: options.targetSize })
    negativeTimeIds =
      options.negativeOriginalSize !== undefined && options.negativeTargetSize !== undefined
        ? addTimeIds({
            originalSize: options.negativeOriginalSize,
            cropsCoordsTopLeft: negativeCrops,
            targetSize: options.negativeTargetSize,
          })
        : timeIds
  } else {
    const negativeOriginal = options.negativeOriginalSize ?? options.originalSize
    const negativeTarget = options.negativeTargetSize ?? options.targetSize
    if (options.requiresAestheticsScore === true) {
      timeIds = addTimeIds({ ...options, cropsCoordsTopLeft: crops, aestheticScore: options.aestheticScore ?? 6 })
      negativeTimeIds = addTimeIds({
        originalSize: negativeOriginal,
        cropsCoordsTopLeft: negativeCrops,
        targetSize: negativeTarget,
        aestheticScore: options.negativeAestheticScore ?? 2.5,
      })
    } else {
      timeIds = addTimeIds({ originalSize: options.originalSize, cropsCoordsTopLeft: crops, targetSize: options.targetSize })
      negativeTimeIds = addTimeIds({ originalSize: negativeOriginal, cropsCoordsTopLeft: crops, targetSize: negativeTarget })
    }
  }
  const expected = options.expectedLength
  if (expected !== undefined && expected !== timeIds.length) {
    const hint =
      expected === 5
        ? "This UNet expects an aesthetic score: set requires_aesthetics_score (model_index.json) and use an img2img/inpaint pipeline."
        : expected === 6 && timeIds.length === 5
          ? "This UNet expects original size, crop and target size: disable requires_aesthetics_score."
          : "Check the UNet export and model_index.json."
    throw new ModelInputError(`the UNet's time_ids input takes ${expected} values per row, but ${timeIds.length} were built. ${hint}`)
  }
  return { timeIds, negativeTimeIds }
}

/** Rows of time ids as a float32 tensor `[rows.length, values]`. */
export function timeIdsTensor(rows: readonly (readonly number[])[]): Tensor<"float32"> {
  const width = rows[0]?.length ?? 0
  const data = new Float32Array(rows.length * width)
  rows.forEach((row, r) => {
    if (row.length !== width) throw new ModelInputError(`time id rows differ in length (${width} vs ${row.length}).`)
    data.set(row, r * width)
  })
  return new Tensor("float32", data, [rows.length, width])
}
