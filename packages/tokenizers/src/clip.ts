import { join } from "node:path"
import { TokenizerFileMissingError, TokenizerMalformedFileError } from "./errors.js"
import { type FolderConfig, checkFolder, hasFile, readBytes, readFolderConfig, readJson } from "./internal/folder.js"
import { asRecord, JsonContext } from "./internal/json.js"
import { type Pipeline, pipelineFromJson } from "./internal/pipeline.js"
import { type SpecialTokens, Tokenizer } from "./tokenizer.js"

/** CLIP's pre-tokenizer regex (transformers `CLIPTokenizer`). */
const CLIP_SPLIT = "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+"

const DEFAULTS = { bos: "<|startoftext|>", eos: "<|endoftext|>", unk: "<|endoftext|>", pad: "<|endoftext|>" }

/**
 * Load a CLIP byte-level BPE tokenizer from a folder: `tokenizer.json` when present, otherwise
 * `vocab.json` + `merges.txt`; special tokens and `model_max_length` from `tokenizer_config.json` /
 * `special_tokens_map.json` (SDXL's `tokenizer_2` pads with `"!"`, id 0).
 *
 * @example
 * ```ts
 * const tokenizer2 = await loadClipTokenizer("models/tiny-sdxl/tokenizer_2")
 * tokenizer2.encode("a photo of a cat").inputIds[0] // [49406, 320, 1125, 539, 320, 2368, 49407, 0, 0, …]
 * ```
 */
export async function loadClipTokenizer(folder: string, options: { prefer?: "tokenizer.json" | "vocab.json" } = {}): Promise<Tokenizer> {
  await checkFolder(folder)
  const config = await readFolderConfig(folder)
  const hasJson = await hasFile(folder, "tokenizer.json")
  const hasVocab = (await hasFile(folder, "vocab.json")) && (await hasFile(folder, "merges.txt"))
  let pipeline: Pipeline
  let files: string[]
  if (hasJson && !(options.prefer === "vocab.json" && hasVocab)) {
    const { json, ctx } = await readJson(folder, "tokenizer.json")
    pipeline = pipelineFromJson(json, ctx)
    files = ["tokenizer.json"]
  } else if (hasVocab) {
    pipeline = await pipelineFromVocabMerges(folder, config)
    files = ["vocab.json", "merges.txt"]
  } else {
    throw new TokenizerFileMissingError(folder, ["tokenizer.json", "vocab.json + merges.txt"], "This is not a CLIP tokenizer folder.")
  }
  const special = resolveSpecial(pipeline, config, join(folder, files[0] as string))
  return new Tokenizer(pipeline, {
    kind: "clip",
    modelMaxLength: config.modelMaxLength ?? 77,
    special,
    source: [...files, ...config.files],
  })
}

function resolveSpecial(pipeline: Pipeline, config: FolderConfig, file: string): SpecialTokens {
  const bos = config.bosToken ?? DEFAULTS.bos
  const eos = config.eosToken ?? DEFAULTS.eos
  const unk = config.unkToken ?? DEFAULTS.unk
  const pad = config.padToken ?? DEFAULTS.pad
  // transformers registers every configured special token as an added special token.
  pipeline.addSpecialTokens([unk, bos, eos, pad, ...(config.extraSpecialTokens ?? [])])
  const id = (token: string): number => {
    const found = pipeline.tokenToId(token)
    if (found === undefined) throw new TokenizerMalformedFileError(file, `special token ${JSON.stringify(token)} has no id`)
    return found
  }
  return {
    bosToken: bos,
    bosTokenId: id(bos),
    eosToken: eos,
    eosTokenId: id(eos),
    unkToken: unk,
    unkTokenId: id(unk),
    padToken: pad,
    padTokenId: id(pad),
  }
}

/** The tokenizer.json transformers' `CLIPTokenizer.__init__` builds from vocab.json + merges.txt. */
async function pipelineFromVocabMerges(folder: string, config: FolderConfig): Promise<Pipeline> {
  const { json: vocabJson, ctx: vocabCtx } = await readJson(folder, "vocab.json")
  const vocab = asRecord(vocabJson, vocabCtx, "vocab.json")
  const mergesPath = join(folder, "merges.txt")
  const mergesText = new TextDecoder().decode(await readBytes(folder, "merges.txt"))
  const merges: string[] = []
  mergesText.split("\n").forEach((rawLine, i) => {
    const line = rawLine.replace(/\r$/, "")
    if (line.length === 0 || (i === 0 && line.startsWith("#version"))) return
    if (line.split(" ").length !== 2) {
      throw new TokenizerMalformedFileError(mergesPath, `line ${i + 1}: expected two tokens separated by a space, found ${JSON.stringify(line)}`)
    }
    merges.push(line)
  })
  const bos = config.bosToken ?? DEFAULTS.bos
  const eos = config.eosToken ?? DEFAULTS.eos
  const idOf = (token: string, fallback: number): number => (typeof vocab[token] === "number" ? (vocab[token] as number) : fallback)
  const spec = {
    added_tokens: [],
    normalizer: {
      type: "Sequence",
      normalizers: [{ type: "NFC" }, { type: "Replace", pattern: { Regex: "\\s+" }, content: " " }, { type: "Lowercase" }],
    },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: CLIP_SPLIT }, behavior: "Removed", invert: true },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: { type: "RobertaProcessing", sep: [eos, idOf(eos, 1)], cls: [bos, idOf(bos, 0)] },
    decoder: { type: "ByteLevel" },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: config.unkToken ?? DEFAULTS.unk,
      continuing_subword_prefix: "",
      end_of_word_suffix: "</w>",
      fuse_unk: false,
      vocab,
      merges,
    },
  }
  return pipelineFromJson(spec, new JsonContext(`${join(folder, "vocab.json")} + merges.txt`))
}
