import path from "node:path"
import { Tensor } from "@pagkit/tensor"
import { createSession } from "@pagkit/onnx"
import { withLoadScope } from "./load-scope.js"
import type { SessionOptions } from "@pagkit/onnx"
import { assertComponentKind } from "./component-kind.js"
import { ModelInputError } from "./errors.js"
import { asFloat32 } from "./internal/batch.js"
import { LatentDistribution } from "./latent-distribution.js"
import { locateOnnxModel, readComponentConfig } from "./model-folder.js"
import type { GeneratorInput } from "./random.js"
import type { SessionLike } from "./session.js"
import { parseVaeConfig, vaeScaleFactor } from "./vae-config.js"
import type { VaeConfig } from "./vae-config.js"

const f32 = Math.fround

/** Parts of a {@link Vae}. */
export interface VaeParts {
  readonly decoder: SessionLike
  /** Needed by img2img and inpainting only. */
  readonly encoder?: SessionLike | undefined
  readonly config: VaeConfig
}

/** Options of {@link Vae.load}. */
export interface VaeLoadOptions {
  /** Passed to `createSession` for both sessions. */
  readonly sessionOptions?: SessionOptions
  /** Load `vae_encoder/` too (default: when the folder exists). */
  readonly encoder?: boolean
}

const ENCODER_OUTPUTS = ["latent_parameters", "latent_dist", "latent_sample", "latents"] as const

/**
 * The VAE of a pipeline folder: `vae_encoder/` and `vae_decoder/` sessions plus the VAE config.
 * Latent scaling follows diffusers' SDXL pipelines (`scaling_factor`, `latents_mean/std`; `shift_factor` as SD3 does).
 *
 * @example
 * const vae = await Vae.load("models/tiny-sdxl")
 * const images = await vae.decode(latents) // [N, 3, H, W] in [0, 1]
 */
export class Vae {
  readonly decoder: SessionLike
  readonly encoder: SessionLike | undefined
  readonly config: VaeConfig
  /** Pixels per latent cell: `2^(len(block_out_channels) − 1)`. */
  readonly scaleFactor: number

  constructor(parts: VaeParts) {
    this.decoder = parts.decoder
    this.encoder = parts.encoder
    this.config = parts.config
    this.scaleFactor = vaeScaleFactor(parts.config)
  }

  /** Loads `vae_decoder/` (and `vae_encoder/`) with the config from `vae_decoder/config.json` (or `vae/config.json`). */
  static async load(dir: string, options: VaeLoadOptions = {}): Promise<Vae> {
    const decoderLocation = await locateOnnxModel(dir, "vae_decoder")
    const rawConfig =
      (await readComponentConfig(dir, "vae_decoder", { required: false })) ??
      (await readComponentConfig(dir, "vae_encoder", { required: false })) ??
      (await readComponentConfig(dir, "vae"))!
    const config = parseVaeConfig(rawConfig, path.join(dir, "vae_decoder/config.json"))
    return withLoadScope(async (scope) => {
      const decoder = scope.own(await createSession(decoderLocation.modelPath, options.sessionOptions))
      assertComponentKind(decoder, "vae-decoder", "vae_decoder/")
      let encoder: SessionLike | undefined
      const wantEncoder = options.encoder ?? (await locateOnnxModel(dir, "vae_encoder").then(() => true, () => false))
      if (wantEncoder) {
        const encoderLocation = await locateOnnxModel(dir, "vae_encoder")
        encoder = scope.own(await createSession(encoderLocation.modelPath, options.sessionOptions))
        assertComponentKind(encoder, "vae-encoder", "vae_encoder/")
      }
      return new Vae({ decoder, encoder, config })
    })
  }

  /** Frees both sessions. */
  async release(): Promise<void> {
    await this.decoder.release?.()
    await this.encoder?.release?.()
  }

  /** Encodes images `[N, 3, H, W]` in [-1, 1] to a latent distribution (unscaled latent space). */
  async encode(images: Tensor<"float32">): Promise<LatentDistribution> {
    const encoder = this.encoder
    if (encoder === undefined) {
      throw new ModelInputError(
        "this VAE has no encoder: img2img and inpainting need vae_encoder/model.onnx in the model folder. Export it or load it.",
      )
    }
    if (images.rank !== 4) throw new ModelInputError(`VAE encode expects images [N, 3, H, W], found ${images.describe()}.`)
    const inputName = encoder.inputs[0]?.name ?? "sample"
    const outputName = ENCODER_OUTPUTS.find((n) => encoder.outputs.some((o) => o.name === n)) ?? encoder.outputs[0]?.name
    if (outputName === undefined) throw new ModelInputError("the VAE encoder declares no outputs.")
    const result = await encoder.run({ [inputName]: images }, [outputName])
    const raw = asFloat32(result[outputName]!, `VAE encoder output ${outputName}`)
    const channels = raw.shape[1]
    if (channels === 2 * this.config.latentChannels) return LatentDistribution.fromParameters(raw)
    if (channels === this.config.latentChannels) return LatentDistribution.fixed(raw)
    throw new ModelInputError(
      `VAE encoder output ${outputName} has ${channels} channels; expected ${2 * this.config.latentChannels} (mean ‖ logvar) or ${this.config.latentChannels} (latent_channels in the VAE config).`,
    )
  }

  /**
   * diffusers' `retrieve_latents(vae.encode(images), generator)` then scaling: the latents a pipeline starts from.
   * Draws `randn(mean.shape)` once from the generator (one per row for a list of generators).
   */
  async encodeLatents(images: Tensor<"float32">, generator?: GeneratorInput): Promise<Tensor<"float32">> {
    const dist = await this.encode(images)
    return this.scaleLatents(dist.sample(generator))
  }

  /** Raw VAE latents → diffusion latents: `(x − mean)·sf/std`, or `(x − shift)·sf`. */
  scaleLatents(raw: Tensor<"float32">): Tensor<"float32"> {
    const { latentsMean, latentsStd, shiftFactor } = this.config
    const sf = f32(this.config.scalingFactor)
    const out = new Float32Array(raw.size)
    const plane = raw.shape.slice(2).reduce((a, b) => a * b, 1)
    const channels = raw.shape[1] ?? 1
    for (let i = 0; i < out.length; i++) {
      const x = raw.data[i]!
      if (latentsMean !== undefined && latentsStd !== undefined) {
        const c = Math.floor(i / plane) % channels
        out[i] = f32(f32(f32(x - f32(latentsMean[c]!)) * sf) / f32(latentsStd[c]!))
      } else if (shiftFactor !== undefined) {
        out[i] = f32(f32(x - f32(shiftFactor)) * sf)
      } else {
        out[i] = f32(sf * x)
      }
    }
    return new Tensor("float32", out, raw.shape)
  }

  /** Diffusion latents → raw VAE latents: `x·std/sf + mean`, `x/sf + shift`, or `x/sf` (diffusers' decode prelude). */
  unscaleLatents(latents: Tensor<"float32">): Tensor<"float32"> {
    const { latentsMean, latentsStd, shiftFactor } = this.config
    const sf = f32(this.config.scalingFactor)
    const invSf = f32(1 / sf) // torch divides by a CPU scalar as a multiply by its float reciprocal
    const out = new Float32Array(latents.size)
    const plane = latents.shape.slice(2).reduce((a, b) => a * b, 1)
    const channels = latents.shape[1] ?? 1
    for (let i = 0; i < out.length; i++) {
      const x = latents.data[i]!
      if (latentsMean !== undefined && latentsStd !== undefined) {
        const c = Math.floor(i / plane) % channels
        out[i] = f32(f32(f32(x * f32(latentsStd[c]!)) / sf) + f32(latentsMean[c]!))
      } else if (shiftFactor !== undefined) {
        out[i] = f32(f32(x * invSf) + f32(shiftFactor))
      } else {
        out[i] = f32(x * invSf)
      }
    }
    return new Tensor("float32", out, latents.shape)
  }

  /** Runs the decoder on raw (unscaled) latents: images roughly in [-1, 1]. */
  async decodeRaw(rawLatents: Tensor<"float32">): Promise<Tensor<"float32">> {
    const inputName = this.decoder.inputs[0]?.name ?? "latent_sample"
    const outputName = this.decoder.outputs.find((o) => o.name === "sample")?.name ?? this.decoder.outputs[0]?.name
    if (outputName === undefined) throw new ModelInputError("the VAE decoder declares no outputs.")
    const result = await this.decoder.run({ [inputName]: rawLatents }, [outputName])
    return asFloat32(result[outputName]!, `VAE decoder output ${outputName}`)
  }

  /**
   * Diffusion latents `[N, C, h, w]` → images `[N, 3, h·f, w·f]` in [0, 1]:
   * unscale, decode, then `(x / 2 + 0.5).clamp(0, 1)` (diffusers' `VaeImageProcessor.denormalize`).
   */
  async decode(latents: Tensor<"float32">): Promise<Tensor<"float32">> {
    if (latents.rank !== 4 || latents.shape[1] !== this.config.latentChannels) {
      throw new ModelInputError(
        `VAE decode expects latents [N, ${this.config.latentChannels}, h, w], found ${latents.describe()}.`,
      )
    }
    const decoded = await this.decodeRaw(this.unscaleLatents(latents))
    return denormalizeImages(decoded)
  }
}

/** `(x · 0.5 + 0.5).clamp(0, 1)` in float32: [-1, 1] → [0, 1]. */
export function denormalizeImages(images: Tensor<"float32">): Tensor<"float32"> {
  const out = new Float32Array(images.size)
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, f32(f32(images.data[i]! * 0.5) + 0.5)))
  return new Tensor("float32", out, images.shape)
}

/** `2x − 1` in float32: [0, 1] → [-1, 1]. */
export function normalizeImages(images: Tensor<"float32">): Tensor<"float32"> {
  const out = new Float32Array(images.size)
  for (let i = 0; i < out.length; i++) out[i] = f32(f32(2 * images.data[i]!) - 1)
  return new Tensor("float32", out, images.shape)
}
