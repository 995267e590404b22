import { Tensor } from "@pagkit/tensor"
import { ModelInputError } from "./errors.js"
import { randnTensor } from "./random.js"
import type { GeneratorInput } from "./random.js"

const f32 = Math.fround

/**
 * What a VAE encoder returns: a diagonal Gaussian over latents, or fixed latents.
 * Port of diffusers `models/autoencoders/vae.py`, `DiagonalGaussianDistribution`, in float32
 * (`logvar` clamped to [-30, 20], `std = exp(0.5·logvar)`, `sample = mean + std·randn`).
 */
export class LatentDistribution {
  /** `[N, C, h, w]`. */
  readonly mean: Tensor<"float32">
  /** `[N, C, h, w]`, clamped to [-30, 20]; `undefined` for fixed latents. */
  readonly logvar: Tensor<"float32"> | undefined
  /** `exp(0.5·logvar)`; `undefined` for fixed latents. */
  readonly std: Tensor<"float32"> | undefined

  private constructor(mean: Tensor<"float32">, logvar: Tensor<"float32"> | undefined) {
    this.mean = mean
    this.logvar = logvar
    if (logvar === undefined) {
      this.std = undefined
      return
    }
    const std = new Float32Array(logvar.size)
    for (let i = 0; i < std.length; i++) std[i] = f32(Math.exp(f32(0.5 * logvar.data[i]!)))
    this.std = new Tensor("float32", std, logvar.shape)
  }

  /**
   * From the encoder's `latent_parameters` (`[N, 2C, h, w]`: mean ‖ logvar on the channel axis).
   *
   * @example
   * const dist = LatentDistribution.fromParameters(outputs.latent_parameters)
   */
  static fromParameters(parameters: Tensor<"float32">): LatentDistribution {
    const [n, c2, h, w] = parameters.shape
    if (parameters.rank !== 4 || c2! % 2 !== 0) {
      throw new ModelInputError(
        `latent parameters should be [N, 2·C, h, w] (mean ‖ logvar), found ${parameters.describe()}. Check the VAE encoder's output.`,
      )
    }
    const c = c2! / 2
    const plane = h! * w!
    const mean = new Float32Array(n! * c * plane)
    const logvar = new Float32Array(n! * c * plane)
    for (let b = 0; b < n!; b++) {
      const src = b * c2! * plane
      const dst = b * c * plane
      mean.set(parameters.data.subarray(src, src + c * plane), dst)
      const lv = parameters.data.subarray(src + c * plane, src + 2 * c * plane)
      for (let i = 0; i < lv.length; i++) logvar[dst + i] = Math.min(20, Math.max(-30, lv[i]!))
    }
    const shape = [n!, c, h!, w!]
    return new LatentDistribution(new Tensor("float32", mean, shape), new Tensor("float32", logvar, shape))
  }

  /** Fixed latents (an encoder that outputs `latent_sample` already sampled): `sample` returns them unchanged. */
  static fixed(latents: Tensor<"float32">): LatentDistribution {
    return new LatentDistribution(latents, undefined)
  }

  /** True for fixed latents (no noise drawn by {@link sample}). */
  get deterministic(): boolean {
    return this.std === undefined
  }

  /** `mean + std·randn(mean.shape)`, drawing from the generator like diffusers' `randn_tensor`. */
  sample(generator?: GeneratorInput): Tensor<"float32"> {
    if (this.std === undefined) return this.mean
    const noise = randnTensor(this.mean.shape, generator)
    const out = new Float32Array(this.mean.size)
    const mean = this.mean.data
    const std = this.std.data
    for (let i = 0; i < out.length; i++) out[i] = f32(mean[i]! + f32(std[i]! * noise.data[i]!))
    return new Tensor("float32", out, this.mean.shape)
  }

  /** The distribution's mode (its mean): diffusers' `sample_mode="argmax"`. */
  mode(): Tensor<"float32"> {
    return this.mean
  }
}
