/**
 * A tokenizer.json interpreted: added tokens -> normalizer -> pre-tokenizer -> model, plus the single-sequence
 * post-processor template and the decoder. Mirrors `TokenizerImpl::encode_single_sequence` and
 * `TokenizerImpl::decode` of tokenizers `tokenizer/mod.rs`.
 */
import { UnsupportedTokenizerError } from "../errors.js"
import { type AddedToken, AddedTokenMatcher, type Segment } from "./added-vocabulary.js"
import { BpeModel } from "./bpe-model.js"
import { buildDecoder, type DecodeChain } from "./decoders.js"
import { asArray, asInteger, asNumber, asRecord, asString, type JsonContext } from "./json.js"
import { buildNormalizer, type Normalizer } from "./normalizers.js"
import { buildPreTokenizer, type PreTokenizer } from "./pre-tokenizers.js"
import { UnigramModel } from "./unigram-model.js"

/** Special tokens the post-processor puts around a single sequence. */
export interface Template {
  prefix: readonly number[]
  suffix: readonly number[]
}

/** A loaded tokenization pipeline. */
export class Pipeline {
  private readonly addedById = new Map<number, AddedToken>()
  private readonly addedByContent = new Map<string, AddedToken>()
  private rawMatcher: AddedTokenMatcher
  private normalizedMatcher: AddedTokenMatcher

  constructor(
    readonly model: BpeModel | UnigramModel,
    readonly normalizer: Normalizer | undefined,
    readonly preTokenizer: PreTokenizer | undefined,
    readonly template: Template,
    readonly decoder: DecodeChain,
    addedTokens: readonly AddedToken[],
  ) {
    for (const token of addedTokens) this.register(token)
    this.rawMatcher = new AddedTokenMatcher([])
    this.normalizedMatcher = new AddedTokenMatcher([])
    this.refresh()
  }

  private register(token: AddedToken): void {
    this.addedById.set(token.id, token)
    this.addedByContent.set(token.content, token)
  }

  private refresh(): void {
    const tokens = [...this.addedByContent.values()]
    this.rawMatcher = new AddedTokenMatcher(tokens.filter((t) => !t.normalized))
    // Normalized added tokens are matched in normalized text, against their normalized form.
    this.normalizedMatcher = new AddedTokenMatcher(
      tokens.filter((t) => t.normalized).map((t) => ({ ...t, content: this.normalizer?.(t.content) ?? t.content })),
    )
  }

  /**
   * Add special tokens the way transformers does for `bos_token`, `pad_token`, … of tokenizer_config.json:
   * a token already known keeps its id, a new one gets the next free id.
   */
  addSpecialTokens(contents: readonly string[]): void {
    let changed = false
    for (const content of contents) {
      if (this.addedByContent.has(content)) continue
      const id = this.modelTokenToId(content) ?? this.size
      this.register({ id, content, special: true, normalized: false, lstrip: false, rstrip: false, singleWord: false })
      changed = true
    }
    if (changed) this.refresh()
  }

  /** Vocabulary size including added tokens. */
  get size(): number {
    let max = this.model.size
    for (const id of this.addedById.keys()) max = Math.max(max, id + 1)
    return max
  }

  private modelTokenToId(token: string): number | undefined {
    return this.model instanceof BpeModel ? this.model.vocab.get(token) : this.model.tokenToId.get(token)
  }

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.modelTokenToId(token)
  }

  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.model.idToToken(id)
  }

  isSpecial(id: number): boolean {
    return this.addedById.get(id)?.special === true
  }

  /** Ids of `text` without special tokens, untruncated. */
  encode(text: string): number[] {
    const ids: number[] = []
    for (const raw of this.rawMatcher.split(text)) {
      if (raw.id !== undefined) {
        ids.push(raw.id)
        continue
      }
      const normalized = this.normalizer === undefined ? raw.text : this.normalizer(raw.text)
      const segments: Segment[] = this.normalizedMatcher.split(normalized)
      for (const segment of segments) {
        if (segment.id !== undefined) {
          ids.push(segment.id)
          continue
        }
        if (segment.text.length === 0) continue
        const pieces = this.preTokenizer === undefined ? [segment.text] : this.preTokenizer([segment.text])
        for (const piece of pieces) for (const id of this.model.tokenize(piece)) ids.push(id)
      }
    }
    return ids
  }

  /** Token strings of `text` without special tokens. */
  tokenize(text: string): string[] {
    return this.encode(text).map((id) => this.idToToken(id) ?? "")
  }

  /** Text of `ids` through the decoder; unknown ids are skipped as tokenizers does. */
  decode(ids: ArrayLike<number>, skipSpecialTokens: boolean): string {
    const tokens: string[] = []
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number
      const token = this.idToToken(id)
      if (token === undefined || (skipSpecialTokens && this.isSpecial(id))) continue
      tokens.push(token)
    }
    return this.decoder(tokens).join("")
  }
}

/** Build a pipeline from a parsed tokenizer.json. */
export function pipelineFromJson(json: unknown, ctx: JsonContext): Pipeline {
  const root = asRecord(json, ctx, "tokenizer.json")
  const model = buildModel(asRecord(root["model"], ctx, "model"), ctx)
  const added = asArray(root["added_tokens"] ?? [], ctx, "added_tokens").map((entry, i): AddedToken => {
    const t = asRecord(entry, ctx, `added_tokens[${i}]`)
    return {
      id: asInteger(t["id"], ctx, `added_tokens[${i}].id`),
      content: asString(t["content"], ctx, `added_tokens[${i}].content`),
      special: t["special"] === true,
      normalized: t["normalized"] === true,
      lstrip: t["lstrip"] === true,
      rstrip: t["rstrip"] === true,
      singleWord: t["single_word"] === true,
    }
  })
  const normalizer = buildNormalizer(root["normalizer"], ctx)
  const preTokenizer = buildPreTokenizer(root["pre_tokenizer"], ctx)
  const decoder = buildDecoder(root["decoder"], ctx)
  const lookup = (token: string): number | undefined =>
    added.find((t) => t.content === token)?.id ??
    (model instanceof BpeModel ? model.vocab.get(token) : model.tokenToId.get(token))
  const template = buildTemplate(root["post_processor"], ctx, lookup)
  return new Pipeline(model, normalizer, preTokenizer, template, decoder, added)
}

function buildModel(obj: Record<string, unknown>, ctx: JsonContext): BpeModel | UnigramModel {
  const type = obj["type"] ?? (Array.isArray(obj["vocab"]) ? "Unigram" : "BPE")
  if (type === "BPE") {
    if (obj["dropout"] !== null && obj["dropout"] !== undefined) {
      throw new UnsupportedTokenizerError(`BPE option in ${ctx.file}`, `dropout ${String(obj["dropout"])}`, ["dropout null"])
    }
    if (obj["byte_fallback"] === true) {
      throw new UnsupportedTokenizerError(`BPE option in ${ctx.file}`, "byte_fallback true", ["byte_fallback false"])
    }
    const vocabObj = asRecord(obj["vocab"], ctx, "model.vocab")
    const vocab = new Map<string, number>()
    for (const token in vocabObj) {
      const id = vocabObj[token]
      // fast path for the 49k entries of a CLIP vocabulary; asInteger reports the bad ones
      vocab.set(token, typeof id === "number" && Number.isInteger(id) && id >= 0 ? id : asInteger(id, ctx, `model.vocab[${token}]`))
    }
    const merges = asArray(obj["merges"] ?? [], ctx, "model.merges").map((m, i) => parseMerge(m, ctx, i))
    const optional = (key: string): string | undefined => (obj[key] === null || obj[key] === undefined ? undefined : asString(obj[key], ctx, `model.${key}`))
    return ctx.wrap("model", () =>
      new BpeModel({
        vocab,
        merges,
        unkToken: optional("unk_token"),
        endOfWordSuffix: optional("end_of_word_suffix") ?? "",
        continuingSubwordPrefix: optional("continuing_subword_prefix") ?? "",
        fuseUnk: obj["fuse_unk"] === true,
        ignoreMerges: obj["ignore_merges"] === true,
      }),
    )
  }
  if (type === "Unigram") {
    const vocab = asArray(obj["vocab"], ctx, "model.vocab").map((entry, i): [string, number] => {
      const pair = asArray(entry, ctx, `model.vocab[${i}]`)
      return [asString(pair[0], ctx, `model.vocab[${i}][0]`), asNumber(pair[1], ctx, `model.vocab[${i}][1]`)]
    })
    const unkId = obj["unk_id"] === null || obj["unk_id"] === undefined ? undefined : asInteger(obj["unk_id"], ctx, "model.unk_id")
    return ctx.wrap("model", () => new UnigramModel({ vocab, unkId, byteFallback: obj["byte_fallback"] === true }))
  }
  throw new UnsupportedTokenizerError(`model type in ${ctx.file}`, String(type), ["BPE", "Unigram"])
}

function parseMerge(entry: unknown, ctx: JsonContext, i: number): [string, string] {
  if (typeof entry === "string") {
    const space = entry.indexOf(" ", 1)
    if (space < 0) return ctx.fail(`model.merges[${i}]`, `expected "a b", found ${JSON.stringify(entry)}`)
    return [entry.slice(0, space), entry.slice(space + 1)]
  }
  const pair = asArray(entry, ctx, `model.merges[${i}]`)
  return [asString(pair[0], ctx, `model.merges[${i}][0]`), asString(pair[1], ctx, `model.merges[${i}][1]`)]
}

const PROCESSORS = ["RobertaProcessing", "BertProcessing", "TemplateProcessing", "ByteLevel", "Sequence"]

function buildTemplate(spec: unknown, ctx: JsonContext, lookup: (token: string) => number | undefined): Template {
  if (spec === null || spec === undefined) return { prefix: [], suffix: [] }
  const obj = asRecord(spec, ctx, "post_processor")
  const type = asString(obj["type"], ctx, "post_processor.type")
  if (type === "ByteLevel") return { prefix: [], suffix: [] }
  if (type === "RobertaProcessing" || type === "BertProcessing") {
    const cls = asArray(obj["cls"], ctx, "post_processor.cls")
    const sep = asArray(obj["sep"], ctx, "post_processor.sep")
    return {
      prefix: [asInteger(cls[1], ctx, "post_processor.cls[1]")],
      suffix: [asInteger(sep[1], ctx, "post_processor.sep[1]")],
    }
  }
  if (type === "Sequence") {
    const parts = asArray(obj["processors"], ctx, "post_processor.processors").map((p) => buildTemplate(p, ctx, lookup))
    return { prefix: parts.flatMap((p) => p.prefix), suffix: parts.flatMap((p) => p.suffix) }
  }
  if (type === "TemplateProcessing") {
    const specials = asRecord(obj["special_tokens"] ?? {}, ctx, "post_processor.special_tokens")
    const prefix: number[] = []
    const suffix: number[] = []
    let seenSequence = false
    asArray(obj["single"], ctx, "post_processor.single").forEach((item, i) => {
      const piece = asRecord(item, ctx, `post_processor.single[${i}]`)
      if ("Sequence" in piece) {
        seenSequence = true
        return
      }
      const special = asRecord(piece["SpecialToken"], ctx, `post_processor.single[${i}].SpecialToken`)
      const name = asString(special["id"], ctx, `post_processor.single[${i}].SpecialToken.id`)
      const entry = specials[name]
      const ids =
        entry === undefined
          ? [lookup(name) ?? ctx.fail(`post_processor.single[${i}]`, `special token ${name} has no id`)]
          : asArray(asRecord(entry, ctx, `post_processor.special_tokens.${name}`)["ids"], ctx, `post_processor.special_tokens.${name}.ids`).map((v) =>
              asInteger(v, ctx, `post_processor.special_tokens.${name}.ids`),
            )
      ;(seenSequence ? suffix : prefix).push(...ids)
    })
    return { prefix, suffix }
  }
  throw new UnsupportedTokenizerError(`post-processor in ${ctx.file}`, type, PROCESSORS)
}
