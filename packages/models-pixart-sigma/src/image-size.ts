import { aspectRatioBinsFor, classifyHeightWidthBin } from "./aspect-ratio-bins.js"
import { checkImageArea } from "@pagkit/models-core"
import { PixArtSizeError } from "./errors.js"

/** What decides the sizes a PixArt transformer can generate. */
export interface PixArtSizeRule {
  /** `sample_size` of the transformer config (latent cells of its native resolution). */
  readonly sampleSize: number
  /** Pixels per latent cell. */
  readonly vaeScaleFactor: number
  /** Latent cells per patch (`patch_size`, 2 for PixArt); latent sizes must be multiples of it. */
  readonly patchSize: number
  /** `[h, w]` latent size when the exported graph fixes it (e.g. the tiny fixture's 16×16), else `undefined`. */
  readonly fixedLatentSize?: readonly [number, number] | undefined
}

/** A request: sizes in pixels (default: `sampleSize · vaeScaleFactor`), binning on by default as in diffusers. */
export interface PixArtSizeRequest {
  readonly height?: number | undefined
  readonly width?: number | undefined
  readonly useResolutionBinning?: boolean | undefined
}

/** Sizes of one run. */
export interface PixArtSizePlan {
  /** Size generated (after binning), in pixels. */
  readonly height: number
  readonly width: number
  /** Size returned: the request (decoded images are resized and center-cropped to it when they differ). */
  readonly outputHeight: number
  readonly outputWidth: number
  /** Latent size `[h, w]`. */
  readonly latentHeight: number
  readonly latentWidth: number
  /** True when binning changed the size. */
  readonly binned: boolean
}

function checkPositive(value: number, what: string): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new PixArtSizeError(`${what} must be a positive whole number of pixels, found ${String(value)}.`)
  }
}

/**
 * Plans the generation size as diffusers' PixArt-Sigma `__call__` does: default size from `sample_size`, then
 * (with `useResolutionBinning`, default true) the closest bin of the aspect-ratio table for the transformer's
 * `sample_size`, generated there and resized back to the request after decoding.
 *
 * Deviations, each with a {@link PixArtSizeError} naming what fits: a transformer whose graph fixes the latent
 * size accepts only that size (binning maps nothing else to it); a `sample_size` without a diffusers table
 * (diffusers: "Invalid sample size") is an error unless the graph fixes the size or binning is off.
 *
 * @example
 * planPixArtSize({ height: 768, width: 1360 }, { sampleSize: 128, vaeScaleFactor: 8, patchSize: 2 })
 * // { height: 768, width: 1344, outputHeight: 768, outputWidth: 1360, binned: true, … }
 */
export function planPixArtSize(request: PixArtSizeRequest, rule: PixArtSizeRule): PixArtSizePlan {
  const { sampleSize, vaeScaleFactor, patchSize, fixedLatentSize } = rule
  const outputHeight = request.height ?? sampleSize * vaeScaleFactor
  const outputWidth = request.width ?? sampleSize * vaeScaleFactor
  checkImageArea(outputHeight, outputWidth, "the requested PixArt-Sigma image size")
  checkPositive(outputHeight, "height")
  checkPositive(outputWidth, "width")
  const fixedPixels = fixedLatentSize?.map((d) => d * vaeScaleFactor) as [number, number] | undefined
  const fixedText = fixedPixels === undefined ? "" : `${fixedPixels[0]}×${fixedPixels[1]}`
  let height = outputHeight
  let width = outputWidth
  if (request.useResolutionBinning ?? true) {
    const table = aspectRatioBinsFor(sampleSize)
    if (table !== undefined) {
      ;({ height, width } = classifyHeightWidthBin(outputHeight, outputWidth, table))
    } else if (fixedPixels === undefined) {
      throw new PixArtSizeError(
        `resolution binning needs a transformer sample_size of 32, 64, 128 or 256 (diffusers' 256/512/1024/2048 ` +
          `aspect-ratio tables), but this transformer has sample_size ${sampleSize}. Pass useResolutionBinning: false ` +
          `and a height and width that are multiples of ${vaeScaleFactor * patchSize}.`,
      )
    }
  }
  const multiple = vaeScaleFactor * patchSize
  if (fixedPixels !== undefined) {
    if (height !== fixedPixels[0] || width !== fixedPixels[1]) {
      throw new PixArtSizeError(
        `this transformer's graph has a fixed latent size of ${fixedLatentSize![0]}×${fixedLatentSize![1]}, so it can ` +
          `only generate ${fixedText} images (height ${fixedPixels[0]}, width ${fixedPixels[1]}); ` +
          `${height}×${width} was requested${height !== outputHeight || width !== outputWidth ? ` (binned from ${outputHeight}×${outputWidth})` : ""}. ` +
          `Pass height ${fixedPixels[0]} and width ${fixedPixels[1]}, or export the transformer with dynamic height and width.`,
        [fixedPixels],
      )
    }
  } else if (height % multiple !== 0 || width % multiple !== 0) {
    const fit = (v: number): string => {
      const below = Math.floor(v / multiple) * multiple
      return below > 0 ? `${below} or ${below + multiple}` : `${multiple}`
    }
    throw new PixArtSizeError(
      `PixArt needs sizes that are multiples of ${multiple} (VAE scale factor ${vaeScaleFactor} × patch size ${patchSize}); ` +
        `found height ${height} (use ${fit(height)}) and width ${width} (use ${fit(width)}).`,
    )
  }
  return Object.freeze({
    height,
    width,
    outputHeight,
    outputWidth,
    latentHeight: height / vaeScaleFactor,
    latentWidth: width / vaeScaleFactor,
    binned: height !== outputHeight || width !== outputWidth,
  })
}
