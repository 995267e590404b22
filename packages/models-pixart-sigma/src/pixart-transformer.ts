import { Tensor, slice } from "@pagkit/tensor"
import { HookableDenoiser, sessionInput } from "@pagkit/models-core"
import type { HookableDenoiserOptions, HookGateInput, RowHooks, SessionLike } from "@pagkit/models-core"
import { IDENTITY_ATTENTION } from "@pagkit/onnx"
import { PixArtModelError } from "./errors.js"

export { IDENTITY_ATTENTION }

const REQUIRED_INPUTS = ["hidden_states", "encoder_hidden_states", "encoder_attention_mask", "timestep"] as const

/** One batched transformer call; per-row tensors share the batch size B. */
export interface PixArtDenoiseInput {
  /** `[B, 4, h, w]`, already `scheduler.scaleModelInput`-ed. */
  readonly sample: Tensor<"float32">
  /** Scheduler timestep, broadcast to the batch in the graph's declared type. */
  readonly timestep: number
  /** T5 embeddings `[B, L, D]`. */
  readonly encoderHiddenStates: Tensor<"float32">
  /** `[B, L]`, 1 for tokens and 0 for padding. */
  readonly encoderAttentionMask: Tensor
  /** Hook activations per row (length B): `{ "identity-attention": [module paths] }` on perturbed rows. */
  readonly hooks?: readonly (RowHooks | undefined)[] | undefined
  /** Generated size in pixels, fed as `resolution` / `aspect_ratio` when the graph has those inputs (PixArt-α micro-conditions). */
  readonly imageSize?: { readonly height: number; readonly width: number } | undefined
}

/** Options of {@link PixArtTransformer}: the hookable denoiser's (hooks, kinds, layer index, token grid) plus its config. */
export interface PixArtTransformerOptions extends Omit<HookableDenoiserOptions, "name" | "session" | "gates"> {
  /** The (hooked) transformer session. */
  readonly session: SessionLike
  /** Gate-only hooks by input name (shorthand for `hooks`); PAG needs identity attention over the self-attention layers. */
  readonly gates?: readonly HookGateInput[]
  /** `transformer/config.json` (for `in_channels`, `out_channels`, `sample_size`, `patch_size`). */
  readonly config?: Readonly<Record<string, unknown>> | undefined
}

function numberField(config: Readonly<Record<string, unknown>> | undefined, key: string): number | undefined {
  const value = config?.[key]
  return typeof value === "number" && Number.isFinite(value) ? value : undefined
}

/**
 * PixArt-Sigma's DiT (`PixArtTransformer2DModel` exported with `hidden_states, encoder_hidden_states,
 * encoder_attention_mask, timestep`) on the hookable denoiser base. Learned sigma: the output has
 * `2 · in_channels` channels; guidance combines all of them, then {@link dropLearnedSigma} keeps the first half.
 *
 * @example
 * const pred = await transformer.denoise({ sample, timestep: 999, encoderHiddenStates, encoderAttentionMask, hooks })
 * const eps = transformer.dropLearnedSigma(pred) // [B, 4, h, w]
 */
export class PixArtTransformer extends HookableDenoiser {
  /** Latent channels (`in_channels`). */
  readonly inChannels: number
  /** Output channels (`out_channels`; 8 with learned sigma). */
  readonly outChannels: number
  /** `sample_size`: latent cells of the native resolution. */
  readonly sampleSize: number
  /** `patch_size` (latent cells per patch side). */
  readonly patchSize: number
  /** Latent `[h, w]` when the graph fixes it (e.g. 16×16 in the tiny fixture), else `undefined`. */
  readonly fixedLatentSize: readonly [number, number] | undefined
  readonly config: Readonly<Record<string, unknown>>

  constructor(options: PixArtTransformerOptions) {
    const { config: _config, ...denoiser } = options
    super({ ...denoiser, name: "transformer", sampleInput: "hidden_states" })
    const names = this.session.inputs.map((i) => i.name)
    for (const name of REQUIRED_INPUTS) {
      if (!names.includes(name)) {
        throw new PixArtModelError(
          `the PixArt transformer graph has no "${name}" input (inputs: ${names.join(", ")}). Export PixArtTransformer2DModel ` +
            `with inputs hidden_states, encoder_hidden_states, encoder_attention_mask and timestep.`,
        )
      }
    }
    this.config = options.config ?? {}
    const sampleShape = sessionInput(this.session, "hidden_states")!.shape
    const declaredChannels = sampleShape[1]
    this.inChannels = numberField(options.config, "in_channels") ?? (typeof declaredChannels === "number" ? declaredChannels : 4)
    this.outChannels = numberField(options.config, "out_channels") ?? this.inChannels * 2
    const [h, w] = [sampleShape[2], sampleShape[3]]
    this.fixedLatentSize = typeof h === "number" && typeof w === "number" && h > 0 && w > 0 ? [h, w] : undefined
    this.sampleSize = numberField(options.config, "sample_size") ?? this.fixedLatentSize?.[0] ?? 128
    this.patchSize = numberField(options.config, "patch_size") ?? 2
  }

  /** The `[h, w]` patch grid of a latent `[B, C, H, W]`: every site of a DiT sees all patches (non-square too). */
  tokenGrid(sampleShape: readonly number[]): readonly [number, number] | undefined {
    const [h, w] = [sampleShape[2], sampleShape[3]]
    if (h === undefined || w === undefined) return undefined
    return [Math.floor(h / this.patchSize), Math.floor(w / this.patchSize)]
  }

  /** True when the output carries learned variances (`out_channels // 2 == in_channels`). */
  get learnedSigma(): boolean {
    return Math.floor(this.outChannels / 2) === this.inChannels
  }

  /** Self-attention module paths that PAG can perturb (the gate columns), e.g. `transformer_blocks.1.attn1`. */
  get selfAttentionLayers(): readonly string[] {
    return this.layers(IDENTITY_ATTENTION)
  }

  /** Runs one batched call; returns the raw prediction `[B, out_channels, h, w]`. */
  async denoise(input: PixArtDenoiseInput): Promise<Tensor<"float32">> {
    const rows = input.sample.shape[0]!
    const inputs: Record<string, Tensor> = {
      hidden_states: input.sample,
      encoder_hidden_states: input.encoderHiddenStates,
      encoder_attention_mask: input.encoderAttentionMask,
    }
    // added_cond_kwargs, only where the export has them (PixArt-α 1024 style micro-conditions).
    if (this.session.hasInput("resolution") || this.session.hasInput("aspect_ratio")) {
      if (input.imageSize === undefined) {
        throw new PixArtModelError("this transformer takes resolution/aspect_ratio inputs; pass imageSize (the generated height and width).")
      }
      const { height, width } = input.imageSize
      if (this.session.hasInput("resolution")) {
        inputs["resolution"] = new Tensor("float32", Float32Array.from({ length: rows * 2 }, (_, i) => (i % 2 === 0 ? height : width)), [rows, 2])
      }
      if (this.session.hasInput("aspect_ratio")) {
        inputs["aspect_ratio"] = new Tensor("float32", new Float32Array(rows).fill(height / width), [rows, 1])
      }
    }
    return this.runBatch({ inputs, timestep: input.timestep, hooks: input.hooks })
  }

  /** Learned sigma: the first `in_channels` channels of a (guided) prediction; others pass through unchanged. */
  dropLearnedSigma(prediction: Tensor<"float32">): Tensor<"float32"> {
    return this.learnedSigma && prediction.shape[1] === this.outChannels ? slice(prediction, 1, 0, this.inChannels) : prediction
  }
}
