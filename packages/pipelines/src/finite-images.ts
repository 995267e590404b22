import { countNonFinite, describeNonFinite } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { NonFiniteError } from "./errors.js"

/**
 * Throws a {@link NonFiniteError} when decoded images hold NaN or ±Infinity (they would be written as black
 * pixels), unless `allowNonFinite` is set. The latents were finite (the loop checks them), so the VAE decoder is
 * the likely cause. Returns the images, so it can wrap the decode call.
 * @example
 * const images = assertFiniteImages(await model.vae.decode(latents), { allowNonFinite: options.allowNonFinite })
 */
export function assertFiniteImages<T extends Tensor>(images: T, options: { readonly allowNonFinite?: boolean | undefined } = {}): T {
  if (options.allowNonFinite === true) return images
  const report = countNonFinite(images)
  if (report !== undefined) {
    throw new NonFiniteError(
      `expected finite pixels from the VAE decoder, found ${describeNonFinite(report)}; the latents going in were finite. Likely causes: NaN or Infinity in the VAE decoder's weights, a scaling_factor of 0 or out of range in vae_decoder/config.json, or a float16 VAE overflowing (use a float32 or fp16-fixed VAE). Pass allowNonFinite: true to get the raw values.`,
      undefined,
    )
  }
  return images
}
