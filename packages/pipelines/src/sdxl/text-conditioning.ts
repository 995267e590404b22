import { tile } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { timeIdsTensor } from "@pagkit/models-sdxl"
import type { SdxlModel, SdxlPromptEmbeds, TimeIdsOptions } from "@pagkit/models-sdxl"
import type { RowSource } from "../row-inputs.js"
import type { SdxlCallOptions } from "./sdxl-options.js"
import type { PreparedRun } from "./sdxl-pipeline.js"

/**
 * The UNet's text conditioning per conditioning: prompt embeddings, pooled embeddings and `add_time_ids`
 * (diffusers' `_get_add_time_ids`, with `original_size`/`target_size` defaulting to the output size), each
 * `[batch, …]`, laid out per row by `gatherRows`.
 */
export function textConditioning(
  model: SdxlModel,
  run: { readonly options: SdxlCallOptions & { aestheticScore?: number; negativeAestheticScore?: number }; readonly prepared: PreparedRun; readonly text: SdxlPromptEmbeds; readonly batchSize: number },
): Record<string, RowSource> {
  const { options, prepared, text, batchSize } = run
  const size = [prepared.height, prepared.width] as const
  const timeIdsOptions: Omit<TimeIdsOptions, "requiresAestheticsScore" | "expectedLength"> = {
    originalSize: options.originalSize ?? size,
    targetSize: options.targetSize ?? size,
    cropsCoordsTopLeft: options.cropsCoordsTopLeft,
    negativeOriginalSize: options.negativeOriginalSize,
    negativeCropsCoordsTopLeft: options.negativeCropsCoordsTopLeft,
    negativeTargetSize: options.negativeTargetSize,
    aestheticScore: options.aestheticScore,
    negativeAestheticScore: options.negativeAestheticScore,
    pipeline: prepared.timeIdsRules,
  }
  const ids = model.timeIds(timeIdsOptions)
  const rows = (values: readonly number[]): Tensor => tile(timeIdsTensor([values]), [batchSize, 1]) // [batch, 6]
  return {
    encoder_hidden_states: { cond: text.promptEmbeds, uncond: text.negativePromptEmbeds },
    text_embeds: { cond: text.pooledPromptEmbeds, uncond: text.negativePooledPromptEmbeds },
    time_ids: { cond: rows(ids.timeIds), uncond: rows(ids.negativeTimeIds) },
  }
}
