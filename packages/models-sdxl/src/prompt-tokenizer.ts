import { ModelInputError } from "@pagkit/models-core"

/** Token ids of a batch of prompts, padded and truncated to a fixed length. */
export interface TokenizedPrompts {
  /** One row of `maxLength` ids per prompt (BOS … EOS, then the folder's pad token). */
  readonly inputIds: readonly ArrayLike<number>[]
  /** Text removed by truncation, per prompt (diffusers logs it as a warning). */
  readonly warnings?: readonly string[]
}

/**
 * What the SDXL adapter needs of a CLIP tokenizer: `padding="max_length", truncation=True` as diffusers calls it.
 * `@pagkit/tokenizers`' `Tokenizer` (from `loadClipTokenizer`) has this shape.
 */
export interface PromptTokenizer {
  /** `model_max_length` (77 for CLIP). */
  readonly modelMaxLength: number
  encode(prompts: readonly string[], options: { maxLength: number }): TokenizedPrompts
}

/** Loads the tokenizer of a `tokenizer/` or `tokenizer_2/` folder. */
export type TokenizerLoader = (folder: string) => Promise<PromptTokenizer>

/** Ids as an int32 tensor payload `[prompts, maxLength]`, checking every row's length. */
export function idsToInt32(tokens: TokenizedPrompts, maxLength: number): Int32Array {
  const rows = tokens.inputIds
  const out = new Int32Array(rows.length * maxLength)
  rows.forEach((row, r) => {
    if (row.length !== maxLength) {
      throw new ModelInputError(
        `the tokenizer returned ${row.length} ids for prompt ${r}, expected ${maxLength} (padding="max_length", truncation on).`,
      )
    }
    for (let i = 0; i < maxLength; i++) out[r * maxLength + i] = row[i]!
  })
  return out
}
