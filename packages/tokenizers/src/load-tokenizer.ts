import { join } from "node:path"
import { TokenizerFileMissingError, TokenizerInputError } from "./errors.js"
import { loadClipTokenizer } from "./clip.js"
import { checkFolder, hasFile, readFolderConfig, readJson } from "./internal/folder.js"
import { asRecord } from "./internal/json.js"
import { loadT5Tokenizer } from "./t5.js"
import type { Tokenizer, TokenizerKind } from "./tokenizer.js"

/** Options of {@link loadTokenizer}. */
export interface LoadTokenizerOptions {
  /** Force the family instead of detecting it from `tokenizer_config.json` / the files. */
  kind?: TokenizerKind
}

/**
 * Find which tokenizer family a folder holds: `tokenizer_class` of tokenizer_config.json
 * (`CLIPTokenizer…` / `T5Tokenizer…`), else the model type of tokenizer.json, else the files present.
 */
export async function detectTokenizerKind(folder: string): Promise<TokenizerKind> {
  await checkFolder(folder)
  const config = await readFolderConfig(folder)
  const cls = config.tokenizerClass ?? ""
  if (/^CLIPTokenizer/.test(cls)) return "clip"
  if (/^(T5|MT5|UMT5)Tokenizer/.test(cls)) return "t5"
  if (await hasFile(folder, "tokenizer.json")) {
    const { json, ctx } = await readJson(folder, "tokenizer.json")
    const model = asRecord(asRecord(json, ctx, "tokenizer.json")["model"], ctx, "model")
    if (model["type"] === "BPE") return "clip"
    if (model["type"] === "Unigram") return "t5"
  }
  if (await hasFile(folder, "spiece.model")) return "t5"
  if ((await hasFile(folder, "vocab.json")) && (await hasFile(folder, "merges.txt"))) return "clip"
  throw new TokenizerFileMissingError(
    folder,
    ["tokenizer.json", "vocab.json + merges.txt", "spiece.model"],
    `Could not tell the tokenizer kind (tokenizer_class ${JSON.stringify(cls)} in ${join(folder, "tokenizer_config.json")}).`,
  )
}

/**
 * Load the tokenizer in `folder` (CLIP or T5, detected unless `kind` is given).
 *
 * @example
 * ```ts
 * const tokenizer = await loadTokenizer("models/tiny-sdxl/tokenizer")
 * const batch = tokenizer.encode(["a photo of a cat", "a dog"]) // padded to 77, truncated with warnings
 * ```
 */
export async function loadTokenizer(folder: string, options: LoadTokenizerOptions = {}): Promise<Tokenizer> {
  const kind = options.kind ?? (await detectTokenizerKind(folder))
  if (kind === "clip") return loadClipTokenizer(folder)
  if (kind === "t5") return loadT5Tokenizer(folder)
  throw new TokenizerInputError(`Expected kind "clip" or "t5", found ${JSON.stringify(kind)}.`)
}
