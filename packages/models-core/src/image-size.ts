import { ImageSizeError } from "./errors.js"

/** What a model needs of image sizes. */
export interface ImageSizeRule {
  /** Pixels per latent cell (VAE scale factor). */
  readonly vaeScaleFactor: number
  /** Latent sizes must be multiples of this (2^downsamplings of the denoiser; 1 for none). */
  readonly latentMultiple: number
  /** Model name for messages. */
  readonly model?: string
}

/**
 * Throws an {@link ImageSizeError} unless height and width are positive multiples of
 * `vaeScaleFactor × latentMultiple`; the message names the nearest valid sizes.
 *
 * @example
 * checkImageSize(1000, 1024, { vaeScaleFactor: 8, latentMultiple: 4 }) // throws: "… use 992 or 1024"
 */
export function checkImageSize(height: number, width: number, rule: ImageSizeRule): void {
  const multiple = rule.vaeScaleFactor * rule.latentMultiple
  const problems: string[] = []
  for (const [what, value] of [
    ["height", height],
    ["width", width],
  ] as const) {
    if (!Number.isInteger(value) || value <= 0) {
      problems.push(`${what} ${value} is not a positive whole number of pixels`)
      continue
    }
    if (value % multiple !== 0) {
      const below = Math.floor(value / multiple) * multiple
      const above = below + multiple
      const choices = below > 0 ? `${below} or ${above}` : `${above}`
      problems.push(`${what} ${value} is not a multiple of ${multiple}; use ${choices}`)
    }
  }
  if (problems.length > 0) {
    throw new ImageSizeError(
      `${rule.model ?? "this model"} needs image sizes that are multiples of ${multiple} ` +
        `(VAE scale factor ${rule.vaeScaleFactor} × denoiser downsampling ${rule.latentMultiple}): ${problems.join("; ")}.`,
    )
  }
}
