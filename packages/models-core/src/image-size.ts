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

/** Largest height or width pagkit accepts, in pixels (checked before anything is allocated). */
export const MAX_IMAGE_SIDE = 16384

/** Largest height × width pagkit accepts (8192², a 768 MiB float32 RGB image; latents and activations come on top). */
export const MAX_IMAGE_PIXELS = 8192 * 8192

/**
 * Throws an {@link ImageSizeError} when a requested size is too large to allocate (over {@link MAX_IMAGE_SIDE}
 * per side or {@link MAX_IMAGE_PIXELS} in all), before any buffer is made. `what` names the request.
 * @example
 * checkImageArea(100000, 100000, "the requested size") // throws: "… 100000 × 100000 … at most 16384 per side"
 */
export function checkImageArea(height: number, width: number, what = "the requested image size"): void {
  if (!(height > 0 && width > 0)) return // positivity is reported by the size rules
  if (height > MAX_IMAGE_SIDE || width > MAX_IMAGE_SIDE || height * width > MAX_IMAGE_PIXELS) {
    const gib = (height * width * 3 * 4) / 2 ** 30
    throw new ImageSizeError(
      `${what} is ${height} × ${width} pixels, too large: pagkit takes at most ${MAX_IMAGE_SIDE} per side and ${MAX_IMAGE_PIXELS} pixels in all (8192 × 8192); the decoded image alone would take ${gib.toFixed(1)} GiB. Generate at the model's native size (1024 for SDXL) and upscale afterwards.`,
    )
  }
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
  checkImageArea(height, width, `the image size for ${rule.model ?? "this model"}`)
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
