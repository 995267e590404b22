import { Tensor } from "@pagkit/tensor"
import type { SessionLike } from "@pagkit/models-core"
import { PixArtModelError } from "./errors.js"

const OUTPUT_NAMES = ["last_hidden_state", "hidden_states", "text_embeds"] as const

/**
 * Throws a {@link PixArtModelError} unless the session is a T5 encoder export that takes `input_ids` and
 * `attention_mask`: PixArt-Sigma passes the padding mask to T5 (diffusers' `encode_prompt`), so an export
 * without it would attend to padding and give other embeddings.
 */
export function assertT5TextEncoder(session: SessionLike, where = "text_encoder/"): void {
  const names = session.inputs.map((i) => i.name)
  if (!names.includes("input_ids")) {
    throw new PixArtModelError(
      `${where} should hold a T5 encoder taking input_ids and attention_mask, but its inputs are ${names.join(", ") || "none"}. ` +
        `Export transformers' T5EncoderModel (e.g. optimum-cli export onnx --task feature-extraction) into ${where}.`,
    )
  }
  if (!names.includes("attention_mask")) {
    throw new PixArtModelError(
      `${where}${session.path === undefined ? "" : ` (${session.path})`} takes only ${names.join(", ")}, but PixArt-Sigma ` +
        `feeds the T5 encoder an attention_mask (diffusers passes the padding mask to the text encoder). Re-export the ` +
        `T5EncoderModel with both inputs, input_ids and attention_mask (Optimum's feature-extraction export does this; ` +
        `with torch.onnx.export pass input_names=["input_ids", "attention_mask"] and both tensors as arguments).`,
    )
  }
}

/**
 * Runs the T5 encoder: ids and mask `[B, L]` (int32; converted to the graph's type) → `last_hidden_state`
 * `[B, L, D]` (diffusers' `text_encoder(input_ids, attention_mask=mask)[0]`).
 */
export async function runT5Encoder(
  session: SessionLike,
  inputIds: Tensor<"int32">,
  attentionMask: Tensor<"int32">,
): Promise<Tensor<"float32">> {
  assertT5TextEncoder(session)
  const outputName = OUTPUT_NAMES.find((n) => session.outputs.some((o) => o.name === n)) ?? session.outputs[0]?.name
  if (outputName === undefined) throw new PixArtModelError("the T5 text encoder declares no outputs.")
  const feeds: Record<string, Tensor> = { input_ids: inputIds, attention_mask: attentionMask }
  const result = await session.run(feeds, [outputName])
  const hidden = result[outputName]
  if (hidden === undefined || hidden.dtype !== "float32" || hidden.rank !== 3) {
    throw new PixArtModelError(
      `the T5 text encoder's ${outputName} should be float32 [batch, sequence, hidden], found ${hidden?.describe() ?? "nothing"}.`,
    )
  }
  return hidden as Tensor<"float32">
}

/** `[B][L]` rows → an int32 tensor `[B, L]`. */
export function rowsToTensor(rows: readonly Int32Array[]): Tensor<"int32"> {
  const length = rows[0]?.length ?? 0
  const data = new Int32Array(rows.length * length)
  rows.forEach((row, i) => data.set(row, i * length))
  return new Tensor("int32", data, [rows.length, length])
}
