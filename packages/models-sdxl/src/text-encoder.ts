import { Tensor } from "@pagkit/tensor"
import { ModelInputError, sessionInput } from "@pagkit/models-core"
import type { SessionLike } from "@pagkit/models-core"

/** What one CLIP text encoder call gives the SDXL pipeline. */
export interface TextEncoderOutput {
  /** `hidden_states[-(skip + 2)]`: `[N, 77, hidden]`. */
  readonly hiddenStates: Tensor<"float32">
  /** `text_embeds` (projected pooled output) when the encoder has it: `[N, projection]`. */
  readonly textEmbeds: Tensor<"float32"> | undefined
}

/** Number of `hidden_states.{i}` outputs (layers + 1 for the embeddings); 0 when the export has none. */
export function hiddenStateCount(session: SessionLike): number {
  let count = 0
  for (const o of session.outputs) {
    const match = /^hidden_states\.(\d+)$/.exec(o.name)
    if (match !== null) count = Math.max(count, Number(match[1]) + 1)
  }
  return count
}

/**
 * Runs a CLIP text encoder on ids `[N, L]` (int32 payload; converted to the dtype the graph declares) and picks
 * `hidden_states[-(skip + 2)]` — the output named `hidden_states.{count − skip − 2}` — and `text_embeds`.
 */
export async function runTextEncoder(
  session: SessionLike,
  ids: Int32Array,
  options: { rows: number; length: number; skip: number; name: string },
): Promise<TextEncoderOutput> {
  const { rows, length, skip, name } = options
  const info = sessionInput(session, "input_ids")
  if (info === undefined) {
    throw new ModelInputError(`${name} has no input_ids input (inputs: ${session.inputs.map((i) => i.name).join(", ")}).`)
  }
  const inputIds =
    info.dtype === "int64"
      ? new Tensor("int64", BigInt64Array.from(ids, (v) => BigInt(v)), [rows, length])
      : new Tensor("int32", ids, [rows, length])
  const count = hiddenStateCount(session)
  const index = count - skip - 2
  if (count === 0) {
    throw new ModelInputError(
      `${name} does not output hidden states (outputs: ${session.outputs.map((o) => o.name).join(", ")}). ` +
        `SDXL needs hidden_states[-2]: export the text encoder with output_hidden_states=True (Optimum does).`,
    )
  }
  if (index < 0) {
    throw new ModelInputError(`clip_skip ${skip} is too large for ${name}: it has ${count - 1} layers.`)
  }
  const hiddenName = `hidden_states.${index}`
  const wanted = [hiddenName]
  const hasTextEmbeds = session.outputs.some((o) => o.name === "text_embeds")
  if (hasTextEmbeds) wanted.push("text_embeds")
  const feeds: Record<string, Tensor> = { input_ids: inputIds }
  if (session.hasInput("attention_mask")) {
    feeds["attention_mask"] = new Tensor("int64", new BigInt64Array(rows * length).fill(1n), [rows, length])
  }
  const result = await session.run(feeds, wanted)
  const hidden = result[hiddenName]!
  const pooled = hasTextEmbeds ? result["text_embeds"] : undefined
  if (hidden.dtype !== "float32" || (pooled !== undefined && pooled.dtype !== "float32")) {
    throw new ModelInputError(`${name} returned non-float32 outputs (${hidden.describe()}).`)
  }
  return { hiddenStates: hidden as Tensor<"float32">, textEmbeds: pooled as Tensor<"float32"> | undefined }
}
