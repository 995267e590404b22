import { TokenizerInputError } from "./errors.js"
import type { Pipeline } from "./internal/pipeline.js"

/** Which tokenizer family: CLIP byte-level BPE (SDXL) or T5 sentencepiece unigram (PixArt-Sigma). */
export type TokenizerKind = "clip" | "t5"

/** How prompts are padded: to `maxLength` (diffusers' `padding="max_length"`), to the longest prompt, or not. */
export type PaddingMode = "max_length" | "longest" | "none"

/** Options of {@link Tokenizer.encode}; the defaults are what diffusers passes. */
export interface EncodeOptions {
  /** Length to pad and truncate to. Default: the tokenizer's `modelMaxLength` (77 for CLIP, 512 for T5; PixArt uses 300). */
  maxLength?: number
  /** Default `"max_length"`. */
  padding?: PaddingMode
  /** Cut prompts longer than `maxLength` (special tokens kept). Default `true`. */
  truncation?: boolean
  /** Add BOS … EOS (CLIP) or EOS (T5). Default `true`. */
  addSpecialTokens?: boolean
}

/** Token ids of a batch of prompts, one row per prompt. */
export interface BatchEncoding {
  /** `[batch][length]` token ids. */
  inputIds: Int32Array[]
  /** `[batch][length]`: 1 for real tokens (special tokens included), 0 for padding. */
  attentionMask: Int32Array[]
  /** Per prompt: the text that truncation removed (decoded as diffusers does), or `undefined`. */
  truncatedText: Array<string | undefined>
  /** diffusers-style truncation warnings, one per truncated prompt; never printed by this package. */
  warnings: string[]
}

/** Ids and names of a tokenizer's special tokens. */
export interface SpecialTokens {
  padToken: string
  padTokenId: number
  eosToken: string
  eosTokenId: number
  bosToken: string | undefined
  bosTokenId: number | undefined
  unkToken: string | undefined
  unkTokenId: number | undefined
}

/** Where a tokenizer came from and its defaults (built by the loaders). */
export interface TokenizerSetup {
  kind: TokenizerKind
  modelMaxLength: number
  special: SpecialTokens
  /** Which files were read, e.g. `["tokenizer.json", "tokenizer_config.json"]`. */
  source: readonly string[]
}

/**
 * A CLIP or T5 tokenizer matching Hugging Face `CLIPTokenizer` / `T5Tokenizer` (tokenizers backend)
 * with diffusers' padding and truncation. Create it with `loadTokenizer(folder)`.
 *
 * @example
 * ```ts
 * const tokenizer = await loadTokenizer("models/tiny-sdxl/tokenizer")
 * const { inputIds, warnings } = tokenizer.encode(["a photo of a cat"]) // inputIds[0].length === 77
 * ```
 */
export class Tokenizer {
  readonly kind: TokenizerKind
  readonly modelMaxLength: number
  readonly special: SpecialTokens
  readonly source: readonly string[]

  /** @internal Use the loaders. */
  constructor(
    private readonly pipeline: Pipeline,
    setup: TokenizerSetup,
  ) {
    this.kind = setup.kind
    this.modelMaxLength = setup.modelMaxLength
    this.special = setup.special
    this.source = setup.source
  }

  /** Vocabulary size, added tokens included. */
  get vocabSize(): number {
    return this.pipeline.size
  }

  /** Pad token id (CLIP tokenizer: 49407, SDXL tokenizer_2: 0 for "!", T5: 0). */
  get padTokenId(): number {
    return this.special.padTokenId
  }

  /** Number of special tokens added around one prompt (2 for CLIP, 1 for T5). */
  get numSpecialTokens(): number {
    return this.pipeline.template.prefix.length + this.pipeline.template.suffix.length
  }

  /**
   * Tokenize a batch as diffusers calls the tokenizer:
   * `tokenizer(prompts, padding="max_length", max_length=…, truncation=True)`.
   */
  encode(prompts: string | readonly string[], options: EncodeOptions = {}): BatchEncoding {
    const list = checkPrompts(prompts)
    const maxLength = options.maxLength ?? this.modelMaxLength
    if (!Number.isInteger(maxLength) || maxLength <= 0) {
      throw new TokenizerInputError(`Expected maxLength to be a positive integer, found ${String(maxLength)}.`)
    }
    const padding = options.padding ?? "max_length"
    if (padding !== "max_length" && padding !== "longest" && padding !== "none") {
      throw new TokenizerInputError(`Expected padding "max_length", "longest" or "none", found ${String(padding)}.`)
    }
    const truncation = options.truncation ?? true
    const addSpecial = options.addSpecialTokens ?? true
    const { prefix, suffix } = this.pipeline.template
    const specials = addSpecial ? prefix.length + suffix.length : 0
    if (truncation && maxLength < specials) {
      throw new TokenizerInputError(`Expected maxLength ≥ ${specials} (the special tokens), found ${maxLength}.`)
    }
    const rows: number[][] = []
    const truncatedText: Array<string | undefined> = []
    const warnings: string[] = []
    for (const prompt of list) {
      let content = this.pipeline.encode(prompt)
      let removedText: string | undefined
      if (truncation && content.length + specials > maxLength) {
        const limit = maxLength - specials
        removedText = this.decode(content.slice(limit))
        content = content.slice(0, limit)
        const model = this.kind === "clip" ? "CLIP" : "T5"
        warnings.push(
          `The following part of your input was truncated because ${model} can only handle sequences up to ` +
            `${maxLength} tokens: ${pythonListRepr([removedText])}`,
        )
      }
      truncatedText.push(removedText)
      rows.push(addSpecial ? [...prefix, ...content, ...suffix] : content)
    }
    const target =
      padding === "max_length" ? maxLength : padding === "longest" ? Math.max(0, ...rows.map((r) => r.length)) : 0
    const padId = this.special.padTokenId
    const inputIds: Int32Array[] = []
    const attentionMask: Int32Array[] = []
    for (const row of rows) {
      const length = Math.max(row.length, target)
      const ids = new Int32Array(length).fill(padId)
      ids.set(row)
      const mask = new Int32Array(length)
      mask.fill(1, 0, row.length)
      inputIds.push(ids)
      attentionMask.push(mask)
    }
    return { inputIds, attentionMask, truncatedText, warnings }
  }

  /** Token strings of one text, without special tokens (e.g. `["a</w>", "photo</w>"]`). */
  tokenize(text: string): string[] {
    return this.pipeline.tokenize(checkPrompts(text)[0] as string)
  }

  /** Ids of one text, untruncated and unpadded; special tokens added unless `addSpecialTokens` is false. */
  encodeText(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    const content = this.pipeline.encode(checkPrompts(text)[0] as string)
    if (options.addSpecialTokens === false) return content
    return [...this.pipeline.template.prefix, ...content, ...this.pipeline.template.suffix]
  }

  /**
   * Text of token ids, as transformers decodes: CLIP joins byte-level tokens and turns `</w>` into spaces
   * (then trims); T5 turns `▁` into spaces. Special tokens are kept unless `skipSpecialTokens`.
   */
  decode(ids: ArrayLike<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    const text = this.pipeline.decode(ids, options.skipSpecialTokens ?? false)
    return this.kind === "clip" ? text.replaceAll("</w>", " ").trim() : text
  }

  /** Id of a token string (added tokens first, then the model vocabulary), or `undefined`. */
  tokenToId(token: string): number | undefined {
    return this.pipeline.tokenToId(token)
  }

  /** Token string of an id, or `undefined`. */
  idToToken(id: number): string | undefined {
    return this.pipeline.idToToken(id)
  }
}

function checkPrompts(prompts: unknown): string[] {
  const list = typeof prompts === "string" ? [prompts] : prompts
  if (!Array.isArray(list)) {
    throw new TokenizerInputError(`Expected a prompt string or an array of strings, found ${describe(prompts)}.`)
  }
  list.forEach((p: unknown, i) => {
    if (typeof p !== "string") {
      throw new TokenizerInputError(`Expected prompt ${i} to be a string, found ${describe(p)}. Pass "" for an empty prompt.`)
    }
  })
  return list as string[]
}

function describe(value: unknown): string {
  if (value === null) return "null"
  if (Array.isArray(value)) return "an array"
  return typeof value
}

/** Python's repr of a list of strings, as diffusers' warning prints it. */
function pythonListRepr(items: readonly string[]): string {
  const repr = (s: string): string =>
    s.includes("'") && !s.includes('"') ? `"${s}"` : `'${s.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`
  return `[${items.map(repr).join(", ")}]`
}
