import type { Tensor } from "@pagkit/tensor"
import { HookableDenoiser, ModelInputError, sessionInput } from "@pagkit/models-core"
import type { HookableDenoiserOptions, RowHooks } from "@pagkit/models-core"

/** One batched SDXL UNet call. Per-row tensors share the batch size B. */
export interface SdxlDenoiseInput {
  /** `[B, 4 | 9, h, w]` (already `scheduler.scaleModelInput`-ed; 9 channels for inpainting UNets). */
  readonly sample: Tensor<"float32">
  /** Scheduler timestep. */
  readonly timestep: number
  /** `[B, 77, 2048]` for SDXL. */
  readonly encoderHiddenStates: Tensor<"float32">
  /** Pooled text embeddings `[B, 1280]`. */
  readonly textEmbeds: Tensor<"float32">
  /** Micro-conditioning `[B, 6]` (or 5). */
  readonly timeIds: Tensor<"float32">
  /** Hook activations per row (length B). */
  readonly hooks?: readonly (RowHooks | undefined)[] | undefined
  /** Other per-row graph inputs by name (ControlNet residuals `down_block_additional_residual_*`, …). */
  readonly extra?: Readonly<Record<string, Tensor>> | undefined
  /** Graph inputs that are not per row. */
  readonly shared?: Readonly<Record<string, Tensor>> | undefined
}

/** One row, tensors `[1, …]`. */
export interface SdxlDenoiseRow {
  readonly sample: Tensor<"float32">
  readonly encoderHiddenStates: Tensor<"float32">
  readonly textEmbeds: Tensor<"float32">
  readonly timeIds: Tensor<"float32">
  readonly hooks?: RowHooks | undefined
  readonly extra?: Readonly<Record<string, Tensor>> | undefined
}

/**
 * The SDXL UNet (`UNet2DConditionModel` exported with `sample, timestep, encoder_hidden_states, text_embeds,
 * time_ids`), on the hookable denoiser base: rows with their own conditioning and hook gates, one session.
 *
 * @example
 * const eps = await model.unet.denoise({ sample, timestep: 801, encoderHiddenStates, textEmbeds, timeIds, hooks })
 */
export class SdxlUnet extends HookableDenoiser {
  /** `in_channels` of the graph's `sample` input (4, or 9 for inpainting UNets); `undefined` if symbolic. */
  readonly inChannels: number | undefined
  /** Width of `time_ids` rows the graph takes (6, or 5 with aesthetic score); `undefined` if symbolic. */
  readonly timeIdsLength: number | undefined

  constructor(options: Omit<HookableDenoiserOptions, "name">) {
    super({ ...options, name: "unet" })
    const channels = sessionInput(this.session, "sample")?.shape[1]
    this.inChannels = typeof channels === "number" ? channels : undefined
    const width = sessionInput(this.session, "time_ids")?.shape[1]
    this.timeIdsLength = typeof width === "number" ? width : undefined
    for (const name of ["sample", "encoder_hidden_states", "text_embeds", "time_ids"]) {
      if (!this.session.hasInput(name)) {
        throw new ModelInputError(
          `the SDXL UNet graph has no "${name}" input (inputs: ${this.session.inputs.map((i) => i.name).join(", ")}). Is this an SDXL UNet export?`,
        )
      }
    }
  }

  /** Graph inputs beyond the standard ones (e.g. ControlNet residual inputs), for callers that must feed them. */
  get extraInputs(): readonly string[] {
    const standard = new Set(["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids", ...this.controlInputNames])
    return this.session.inputs.map((i) => i.name).filter((name) => !standard.has(name))
  }

  /** Runs one batched call; returns the noise prediction `[B, 4, h, w]`. */
  async denoise(input: SdxlDenoiseInput): Promise<Tensor<"float32">> {
    return this.runBatch({
      inputs: {
        sample: input.sample,
        encoder_hidden_states: input.encoderHiddenStates,
        text_embeds: input.textEmbeds,
        time_ids: input.timeIds,
        ...(input.extra ?? {}),
      },
      timestep: input.timestep,
      hooks: input.hooks,
      shared: input.shared,
    })
  }

  /** Runs rows given one by one (concatenated on the batch axis into one call). */
  async denoiseRows(
    rows: readonly SdxlDenoiseRow[],
    timestep: number,
    shared?: Readonly<Record<string, Tensor>>,
  ): Promise<Tensor<"float32">> {
    return this.runRows(
      rows.map((row) => ({
        inputs: {
          sample: row.sample,
          encoder_hidden_states: row.encoderHiddenStates,
          text_embeds: row.textEmbeds,
          time_ids: row.timeIds,
          ...(row.extra ?? {}),
        },
        hooks: row.hooks,
      })),
      timestep,
      shared,
    )
  }
}
