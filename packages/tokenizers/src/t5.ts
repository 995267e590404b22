import { join } from "node:path"
import { TokenizerFileMissingError, TokenizerMalformedFileError, UnsupportedTokenizerError } from "./errors.js"
import { type FolderConfig, checkFolder, hasFile, readBytes, readFolderConfig, readJson } from "./internal/folder.js"
import { JsonContext } from "./internal/json.js"
import { type Pipeline, pipelineFromJson } from "./internal/pipeline.js"
import { parseSentencePieceModel, type SentencePieceModel } from "./internal/sentencepiece-proto.js"
import { type SpecialTokens, Tokenizer } from "./tokenizer.js"

/** diffusers' PixArt-Sigma `max_sequence_length` default. */
export const PIXART_MAX_SEQUENCE_LENGTH = 300

/**
 * Load a T5 sentencepiece-unigram tokenizer from a folder: `tokenizer.json` when present, otherwise
 * `spiece.model` converted the way transformers does (charsmap normalizer, whitespace split, `▁` prefix,
 * `</s>` appended, `<extra_id_N>` sentinels). Pass `maxLength: 300` to `encode` for PixArt-Sigma.
 *
 * @example
 * ```ts
 * const t5 = await loadT5Tokenizer("models/tiny-pixart-sigma/tokenizer")
 * const { inputIds, attentionMask } = t5.encode([""], { maxLength: PIXART_MAX_SEQUENCE_LENGTH })
 * // inputIds[0] = [1, 0, 0, …], attentionMask[0] = [1, 0, 0, …]
 * ```
 */
export async function loadT5Tokenizer(folder: string, options: { prefer?: "tokenizer.json" | "spiece.model" } = {}): Promise<Tokenizer> {
  await checkFolder(folder)
  const config = await readFolderConfig(folder)
  const hasJson = await hasFile(folder, "tokenizer.json")
  const hasModel = await hasFile(folder, "spiece.model")
  let pipeline: Pipeline
  let files: string[]
  if (hasJson && !(options.prefer === "spiece.model" && hasModel)) {
    const { json, ctx } = await readJson(folder, "tokenizer.json")
    pipeline = pipelineFromJson(json, ctx)
    files = ["tokenizer.json"]
  } else if (hasModel) {
    pipeline = await pipelineFromSentencePiece(folder, config)
    files = ["spiece.model"]
  } else {
    throw new TokenizerFileMissingError(folder, ["tokenizer.json", "spiece.model"], "This is not a T5 tokenizer folder.")
  }
  const special = resolveSpecial(pipeline, config, join(folder, files[0] as string))
  return new Tokenizer(pipeline, {
    kind: "t5",
    modelMaxLength: config.modelMaxLength ?? 512,
    special,
    source: [...files, ...config.files],
  })
}

function extraIdTokens(config: FolderConfig): string[] {
  const count = config.extraIds ?? 100
  const listed = (config.extraSpecialTokens ?? []).filter((t) => t.startsWith("<extra_id_"))
  if (listed.length > 0) return listed
  return Array.from({ length: count }, (_, i) => `<extra_id_${i}>`)
}

function resolveSpecial(pipeline: Pipeline, config: FolderConfig, file: string): SpecialTokens {
  const eos = config.eosToken ?? "</s>"
  const unk = config.unkToken ?? "<unk>"
  const pad = config.padToken ?? "<pad>"
  pipeline.addSpecialTokens([pad, eos, unk, ...(config.extraSpecialTokens ?? extraIdTokens(config))])
  const id = (token: string): number => {
    const found = pipeline.tokenToId(token)
    if (found === undefined) throw new TokenizerMalformedFileError(file, `special token ${JSON.stringify(token)} has no id`)
    return found
  }
  return {
    bosToken: undefined,
    bosTokenId: undefined,
    eosToken: eos,
    eosTokenId: id(eos),
    unkToken: unk,
    unkTokenId: id(unk),
    padToken: pad,
    padTokenId: id(pad),
  }
}

/** The tokenizer.json transformers builds from a T5 `spiece.model` (T5Converter / T5Tokenizer). */
async function pipelineFromSentencePiece(folder: string, config: FolderConfig): Promise<Pipeline> {
  const path = join(folder, "spiece.model")
  let model: SentencePieceModel
  try {
    model = parseSentencePieceModel(await readBytes(folder, "spiece.model"))
  } catch (error) {
    if (error instanceof TokenizerMalformedFileError) throw error
    throw new TokenizerMalformedFileError(path, `not a SentencePiece model (${error instanceof Error ? error.message : String(error)})`, { cause: error })
  }
  if (model.modelType !== 1) {
    const names: Record<number, string> = { 2: "BPE", 3: "WORD", 4: "CHAR" }
    throw new UnsupportedTokenizerError(`SentencePiece model type in ${path}`, names[model.modelType] ?? String(model.modelType), ["UNIGRAM"])
  }
  const vocab: Array<[string, number]> = model.pieces.map((p) => [p.piece, p.score])
  const extras = extraIdTokens(config)
  // Sentinels are appended in reverse: <extra_id_99> gets the first free id.
  for (let i = extras.length - 1; i >= 0; i--) vocab.push([extras[i] as string, 0])
  const eos = config.eosToken ?? "</s>"
  const eosId = vocab.findIndex(([piece]) => piece === eos)
  if (eosId < 0) throw new TokenizerMalformedFileError(path, `the end-of-sequence piece ${eos} is missing`)
  const spec = model.normalizer
  const charsmap = spec.precompiledCharsmap
  const spec2 = {
    added_tokens: [],
    normalizer: charsmap.length > 0 ? { type: "Precompiled", precompiled_charsmap: Buffer.from(charsmap).toString("base64") } : null,
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        ...(spec.removeExtraWhitespaces ? [{ type: "WhitespaceSplit" }] : []),
        { type: "Metaspace", replacement: "\u2581", prepend_scheme: spec.addDummyPrefix ? "always" : "never", split: true },
      ],
    },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: eos, type_id: 0 } }],
      special_tokens: { [eos]: { id: eos, ids: [eosId], tokens: [eos] } },
    },
    decoder: { type: "Metaspace", replacement: "\u2581", prepend_scheme: spec.addDummyPrefix ? "always" : "never", split: true },
    model: { type: "Unigram", unk_id: model.unkId >= 0 ? model.unkId : null, vocab, byte_fallback: model.byteFallback },
  }
  return pipelineFromJson(spec2, new JsonContext(path))
}
