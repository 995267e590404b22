import { Tensor, concat, repeatInterleave } from "@pagkit/tensor"
import { ModelInputError, promptProblem } from "@pagkit/models-core"
import type { SessionLike } from "@pagkit/models-core"
import { idsToInt32 } from "./prompt-tokenizer.js"
import type { PromptTokenizer } from "./prompt-tokenizer.js"
import { runTextEncoder } from "./text-encoder.js"

/** A prompt or one prompt per batch entry. */
export type PromptInput = string | readonly string[]

/** The text side of an SDXL pipeline: both tokenizers and encoders (text_encoder may be absent, as in the refiner). */
export interface SdxlTextComponents {
  readonly tokenizer: PromptTokenizer | undefined
  readonly textEncoder: SessionLike | undefined
  readonly tokenizer2: PromptTokenizer
  readonly textEncoder2: SessionLike
  /** `force_zeros_for_empty_prompt` of model_index.json (diffusers' default: true). */
  readonly forceZerosForEmptyPrompt: boolean
}

/** Options of {@link encodeSdxlPrompt}, named after `StableDiffusionXLPipeline.encode_prompt`'s arguments. */
export interface EncodePromptOptions {
  /** One prompt, or one per batch entry; needed unless `promptEmbeds` is given. */
  readonly prompt?: PromptInput | undefined
  /** For tokenizer_2 / text_encoder_2; default `prompt`. */
  readonly prompt2?: PromptInput | undefined
  /** Negative prompt; default empty (zeros when `force_zeros_for_empty_prompt`). */
  readonly negativePrompt?: PromptInput | undefined
  /** Default `negativePrompt`. */
  readonly negativePrompt2?: PromptInput | undefined
  /** Default 1. */
  readonly numImagesPerPrompt?: number
  /** Whether negative embeddings are needed (CFG on). Default true. */
  readonly doCfg?: boolean
  /** Ready text embeddings `[B, 77, D]` instead of `prompt`; needs `pooledPromptEmbeds`. */
  readonly promptEmbeds?: Tensor<"float32"> | undefined
  /** Ready pooled embeddings `[B, D₂]` of the second encoder. */
  readonly pooledPromptEmbeds?: Tensor<"float32"> | undefined
  /** Ready negative text embeddings `[B, 77, D]`. */
  readonly negativePromptEmbeds?: Tensor<"float32"> | undefined
  /** Ready negative pooled embeddings `[B, D₂]`. */
  readonly negativePooledPromptEmbeds?: Tensor<"float32"> | undefined
  /** Layers to skip from the end: uses `hidden_states[-(clipSkip + 2)]` (positive prompt only, like diffusers). */
  readonly clipSkip?: number | undefined
}

/** Prompt conditioning, each `[batch · numImagesPerPrompt, …]`, prompts repeated row by row. */
export interface SdxlPromptEmbeds {
  /** `[B·n, 77, hidden1 + hidden2]`. */
  readonly promptEmbeds: Tensor<"float32">
  /** `[B·n, projection]`. */
  readonly pooledPromptEmbeds: Tensor<"float32">
  /** Present when `doCfg`. */
  readonly negativePromptEmbeds: Tensor<"float32"> | undefined
  readonly negativePooledPromptEmbeds: Tensor<"float32"> | undefined
  /** Truncation warnings from the tokenizers. */
  readonly warnings: readonly string[]
}

function toList(p: PromptInput, what = "prompt"): readonly string[] {
  const problem = promptProblem(p, what)
  if (problem !== undefined) throw new ModelInputError(problem)
  return typeof p === "string" ? [p] : p
}

/** Checks every prompt argument up front, so a bad one is a clear error instead of a failure inside a tokenizer. */
function checkPromptOptions(options: EncodePromptOptions): void {
  for (const key of ["prompt", "prompt2", "negativePrompt", "negativePrompt2"] as const) {
    const value = options[key]
    if (value === undefined) continue
    const problem = promptProblem(value, key)
    // An empty list for an optional prompt means "fall back" (Python's `a or b`), as diffusers treats it.
    if (problem !== undefined && (key === "prompt" || !(Array.isArray(value) && value.length === 0))) throw new ModelInputError(problem)
  }
}

/** Python's `a or b` for prompts: empty strings and empty lists fall through. */
function orElse(a: PromptInput | undefined, b: PromptInput | undefined): PromptInput | undefined {
  return a === undefined || a.length === 0 ? b : a
}

interface Encoded {
  embeds: Tensor<"float32">
  pooled: Tensor<"float32"> | undefined
  warnings: string[]
}

async function encodeWithBoth(
  text: SdxlTextComponents,
  prompts: readonly (readonly string[])[],
  skip: number,
  maxLength: number | undefined,
): Promise<Encoded> {
  const pairs: [PromptTokenizer, SessionLike, string][] = []
  if (text.tokenizer !== undefined && text.textEncoder !== undefined) pairs.push([text.tokenizer, text.textEncoder, "text_encoder"])
  pairs.push([text.tokenizer2, text.textEncoder2, "text_encoder_2"])
  const hidden: Tensor<"float32">[] = []
  const warnings: string[] = []
  let pooled: Tensor<"float32"> | undefined
  // like Python's zip(prompts, tokenizers, text_encoders): without text_encoder, prompt goes to text_encoder_2
  for (let k = 0; k < pairs.length; k++) {
    const [tokenizer, encoder, name] = pairs[k]!
    const batch = prompts[k]!
    const length = maxLength ?? tokenizer.modelMaxLength
    const tokens = tokenizer.encode(batch, { maxLength: length })
    warnings.push(...(tokens.warnings ?? []))
    const ids = idsToInt32(tokens, length)
    const out = await runTextEncoder(encoder, ids, { rows: batch.length, length, skip, name })
    if (pooled === undefined && out.textEmbeds !== undefined) pooled = out.textEmbeds
    hidden.push(out.hiddenStates)
  }
  return { embeds: hidden.length === 1 ? hidden[0]! : concat(hidden, 2), pooled, warnings }
}

/**
 * SDXL prompt encoding, as `StableDiffusionXLPipeline.encode_prompt` (diffusers
 * `pipelines/stable_diffusion_xl/pipeline_stable_diffusion_xl.py`): both encoders' `hidden_states[-2]`
 * concatenated on the last axis, pooled = `text_embeds` of text_encoder_2; with CFG and no negative prompt and
 * `force_zeros_for_empty_prompt`, the negatives are zeros; embeddings repeated for `numImagesPerPrompt` row by row.
 *
 * @example
 * const { promptEmbeds, negativePromptEmbeds } = await encodeSdxlPrompt(model, { prompt: "a red circle", doCfg: true })
 */
export async function encodeSdxlPrompt(text: SdxlTextComponents, options: EncodePromptOptions): Promise<SdxlPromptEmbeds> {
  const n = options.numImagesPerPrompt ?? 1
  const doCfg = options.doCfg ?? true
  if (!Number.isInteger(n) || n < 1) throw new ModelInputError(`numImagesPerPrompt must be a positive integer, found ${n}.`)
  checkPromptOptions(options)
  const warnings: string[] = []
  let promptEmbeds = options.promptEmbeds
  let pooled = options.pooledPromptEmbeds
  let batchSize: number
  if (options.prompt !== undefined) {
    if (promptEmbeds !== undefined) throw new ModelInputError("pass either prompt or promptEmbeds, not both.")
    const prompt = toList(options.prompt)
    const prompt2 = toList(orElse(options.prompt2, options.prompt)!)
    if (prompt2.length !== prompt.length) {
      throw new ModelInputError(`prompt2 has ${prompt2.length} entries but prompt has ${prompt.length}; give one per prompt.`)
    }
    batchSize = prompt.length
    const encoded = await encodeWithBoth(text, [prompt, prompt2], options.clipSkip ?? 0, undefined)
    promptEmbeds = encoded.embeds
    pooled ??= encoded.pooled
    warnings.push(...encoded.warnings)
  } else {
    if (promptEmbeds === undefined) throw new ModelInputError("pass a prompt or promptEmbeds.")
    if (pooled === undefined) {
      throw new ModelInputError("promptEmbeds was given without pooledPromptEmbeds; SDXL needs both (text_embeds of text_encoder_2).")
    }
    batchSize = promptEmbeds.shape[0]!
  }
  if (pooled === undefined) {
    throw new ModelInputError("no pooled prompt embedding: text_encoder_2 should output text_embeds (CLIPTextModelWithProjection).")
  }

  let negativeEmbeds = options.negativePromptEmbeds
  let negativePooled = options.negativePooledPromptEmbeds
  if (doCfg && negativeEmbeds !== undefined && negativePooled === undefined) {
    throw new ModelInputError("negativePromptEmbeds was given without negativePooledPromptEmbeds; pass both.")
  }
  const zeroOut = options.negativePrompt === undefined && text.forceZerosForEmptyPrompt
  if (doCfg && negativeEmbeds === undefined && zeroOut) {
    negativeEmbeds = Tensor.zeros(promptEmbeds.shape, "float32")
    negativePooled = Tensor.zeros(pooled.shape, "float32")
  } else if (doCfg && negativeEmbeds === undefined) {
    const negative = orElse(options.negativePrompt, "")!
    const negative2 = orElse(options.negativePrompt2, negative)!
    const negativeList = typeof negative === "string" ? Array.from({ length: batchSize }, () => negative) : negative
    const negative2List = typeof negative2 === "string" ? Array.from({ length: batchSize }, () => negative2) : negative2
    if (negativeList.length !== batchSize || negative2List.length !== batchSize) {
      throw new ModelInputError(
        `negativePrompt has batch size ${negativeList.length}, but prompt has ${batchSize}. Give one negative prompt per prompt.`,
      )
    }
    // negatives always use hidden_states[-2] (diffusers ignores clip_skip here)
    const encoded = await encodeWithBoth(text, [negativeList, negative2List], 0, promptEmbeds.shape[1])
    negativeEmbeds = encoded.embeds
    negativePooled ??= encoded.pooled
    warnings.push(...encoded.warnings)
  }

  return {
    promptEmbeds: repeatInterleave(promptEmbeds, n, 0),
    pooledPromptEmbeds: repeatInterleave(pooled, n, 0),
    negativePromptEmbeds: doCfg && negativeEmbeds !== undefined ? repeatInterleave(negativeEmbeds, n, 0) : undefined,
    negativePooledPromptEmbeds: doCfg && negativePooled !== undefined ? repeatInterleave(negativePooled, n, 0) : undefined,
    warnings,
  }
}
