// Port of diffusers pipelines/pixart_alpha/pipeline_pixart_sigma.py PixArtSigmaPipeline.encode_prompt
// (the same as pipelines/pag/pipeline_pag_pixart_sigma.py's copy) with _text_preprocessing(clean_caption=False).
import { repeatInterleave } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { promptProblem } from "@pagkit/models-core"
import type { SessionLike } from "@pagkit/models-core"
import { PIXART_MAX_SEQUENCE_LENGTH, preprocessPixArtPrompt } from "@pagkit/tokenizers"
import type { EncodeOptions, BatchEncoding } from "@pagkit/tokenizers"
import { PixArtInputError } from "./errors.js"
import { rowsToTensor, runT5Encoder } from "./text-encoder.js"

/** diffusers' PixArt-Sigma `max_sequence_length` default. */
export const DEFAULT_MAX_SEQUENCE_LENGTH: number = PIXART_MAX_SEQUENCE_LENGTH

/** What prompt encoding needs of a tokenizer (`@pagkit/tokenizers`' T5 `Tokenizer` fits). */
export interface PixArtTokenizer {
  encode(prompts: string | readonly string[], options?: EncodeOptions): BatchEncoding
}

/** The text side of a PixArt-Sigma folder. */
export interface PixArtTextComponents {
  readonly tokenizer: PixArtTokenizer
  /** T5 encoder with inputs `input_ids, attention_mask`. */
  readonly textEncoder: SessionLike
}

/** Options of {@link encodePixArtPrompt}, named after diffusers' `encode_prompt` arguments. */
export interface PixArtEncodeOptions {
  /** A prompt or one per batch entry (needed unless `promptEmbeds` is given). */
  readonly prompt?: string | readonly string[] | undefined
  /** Default `""`, encoded (not zeros), as diffusers does. One string, or one per prompt. */
  readonly negativePrompt?: string | readonly string[] | undefined
  /** Default 1. */
  readonly numImagesPerPrompt?: number | undefined
  /** Whether negative embeddings are needed (diffusers' `do_classifier_free_guidance`). Default true. */
  readonly doCfg?: boolean | undefined
  /** Tokens per prompt, padding and truncation included. Default 300. */
  readonly maxSequenceLength?: number | undefined
  /** Ready embeddings `[B, L, D]` with their mask `[B, L]` instead of `prompt`. */
  readonly promptEmbeds?: Tensor<"float32"> | undefined
  /** Mask `[B, L]` of `promptEmbeds` (1 for tokens, 0 for padding); required with it. */
  readonly promptAttentionMask?: Tensor | undefined
  /** Ready negative embeddings `[B, L, D]`, with `negativePromptAttentionMask`. */
  readonly negativePromptEmbeds?: Tensor<"float32"> | undefined
  /** Mask `[B, L]` of `negativePromptEmbeds`. */
  readonly negativePromptAttentionMask?: Tensor | undefined
}

/** Encoded prompts, rows repeated `numImagesPerPrompt` times each (`[B·n, …]`). */
export interface PixArtPromptEmbeds {
  /** `[B·n, L, D]`. */
  readonly promptEmbeds: Tensor<"float32">
  /** `[B·n, L]`, 1 for tokens, 0 for padding: the transformer's `encoder_attention_mask`. */
  readonly promptAttentionMask: Tensor
  /** Present when `doCfg`. */
  readonly negativePromptEmbeds: Tensor<"float32"> | undefined
  readonly negativePromptAttentionMask: Tensor | undefined
  /** Truncation warnings (diffusers logs them), one per prompt cut at `maxSequenceLength`. */
  readonly warnings: readonly string[]
}

function toList(p: string | readonly string[]): readonly string[] {
  return typeof p === "string" ? [p] : p
}

async function encodeTexts(
  text: PixArtTextComponents,
  prompts: readonly string[],
  maxLength: number,
): Promise<{ embeds: Tensor<"float32">; mask: Tensor<"int32">; warnings: readonly string[] }> {
  // diffusers' _text_preprocessing with clean_caption=False: text.lower().strip()
  const cleaned = prompts.map((p) => preprocessPixArtPrompt(p))
  const tokens = text.tokenizer.encode(cleaned, { maxLength, padding: "max_length", truncation: true, addSpecialTokens: true })
  const ids = rowsToTensor(tokens.inputIds)
  const mask = rowsToTensor(tokens.attentionMask)
  const embeds = await runT5Encoder(text.textEncoder, ids, mask)
  return { embeds, mask, warnings: tokens.warnings }
}

function checkPair(embeds: Tensor | undefined, mask: Tensor | undefined, what: string): void {
  if (embeds === undefined) return
  if (mask === undefined) {
    throw new PixArtInputError(`${what}Embeds was given without ${what}AttentionMask; PixArt needs both (the transformer's encoder_attention_mask).`)
  }
  if (embeds.rank !== 3 || mask.rank !== 2 || embeds.shape[0] !== mask.shape[0] || embeds.shape[1] !== mask.shape[1]) {
    throw new PixArtInputError(
      `${what}Embeds ${embeds.describe()} and ${what}AttentionMask ${mask.describe()} do not fit: expected [B, L, D] and [B, L].`,
    )
  }
}

/**
 * Encodes prompts for PixArt-Sigma exactly as diffusers' `encode_prompt`: T5 tokenizer padded to
 * `maxSequenceLength` (300), the attention mask passed to the encoder and returned for the transformer, the
 * negative prompt (default `""`) encoded to the same length when CFG is on, each row repeated
 * `numImagesPerPrompt` times.
 *
 * @example
 * const { promptEmbeds, promptAttentionMask, negativePromptEmbeds } = await encodePixArtPrompt(model, { prompt: "a cactus" })
 * // promptEmbeds: [1, 300, 4096] for the real model
 */
export async function encodePixArtPrompt(text: PixArtTextComponents, options: PixArtEncodeOptions): Promise<PixArtPromptEmbeds> {
  const n = options.numImagesPerPrompt ?? 1
  if (!Number.isInteger(n) || n < 1) throw new PixArtInputError(`numImagesPerPrompt must be a whole number ≥ 1, found ${String(n)}.`)
  const maxLength = options.maxSequenceLength ?? DEFAULT_MAX_SEQUENCE_LENGTH
  if (!Number.isInteger(maxLength) || maxLength < 1) {
    throw new PixArtInputError(`maxSequenceLength must be a whole number ≥ 1, found ${String(maxLength)}.`)
  }
  const doCfg = options.doCfg ?? true
  checkPair(options.promptEmbeds, options.promptAttentionMask, "prompt")
  checkPair(options.negativePromptEmbeds, options.negativePromptAttentionMask, "negativePrompt")
  const warnings: string[] = []

  let promptEmbeds: Tensor<"float32">
  let promptMask: Tensor
  if (options.promptEmbeds !== undefined) {
    promptEmbeds = options.promptEmbeds
    promptMask = options.promptAttentionMask!
  } else {
    if (options.prompt === undefined) throw new PixArtInputError("pass a prompt (a string or one per image) or promptEmbeds with promptAttentionMask.")
    const problem = promptProblem(options.prompt, "prompt")
    if (problem !== undefined) throw new PixArtInputError(problem)
    const prompts = toList(options.prompt)
    const encoded = await encodeTexts(text, prompts, maxLength)
    ;({ embeds: promptEmbeds, mask: promptMask } = encoded)
    warnings.push(...encoded.warnings)
  }
  const batch = promptEmbeds.shape[0]!
  const seqLength = promptEmbeds.shape[1]!

  let negativeEmbeds: Tensor<"float32"> | undefined
  let negativeMask: Tensor | undefined
  if (doCfg) {
    if (options.negativePromptEmbeds !== undefined) {
      negativeEmbeds = options.negativePromptEmbeds
      negativeMask = options.negativePromptAttentionMask!
    } else {
      const negative = options.negativePrompt ?? ""
      const negativeProblem = promptProblem(negative, "negativePrompt")
      if (negativeProblem !== undefined) throw new PixArtInputError(negativeProblem)
      const negatives = typeof negative === "string" ? Array.from({ length: batch }, () => negative) : negative
      if (negatives.length !== batch) {
        throw new PixArtInputError(
          `negativePrompt has ${negatives.length} entries but there are ${batch} prompts; pass one string or one per prompt.`,
        )
      }
      // diffusers: max_length = prompt_embeds.shape[1]
      const encoded = await encodeTexts(text, negatives, seqLength)
      ;({ embeds: negativeEmbeds, mask: negativeMask } = encoded)
      warnings.push(...encoded.warnings)
    }
    if (negativeEmbeds.shape[0] !== batch || negativeEmbeds.shape[1] !== seqLength) {
      throw new PixArtInputError(
        `negative embeddings ${negativeEmbeds.describe()} do not match the prompt embeddings ${promptEmbeds.describe()} in batch and length.`,
      )
    }
  }
  const repeat = <T extends Tensor>(t: T): T => (n === 1 ? t : (repeatInterleave(t, n, 0) as T))
  return Object.freeze({
    promptEmbeds: repeat(promptEmbeds),
    promptAttentionMask: repeat(promptMask),
    negativePromptEmbeds: negativeEmbeds === undefined ? undefined : repeat(negativeEmbeds),
    negativePromptAttentionMask: negativeMask === undefined ? undefined : repeat(negativeMask),
    warnings: Object.freeze(warnings),
  })
}
