/** Reading a tokenizer folder: existence checks, optional configs, special-token settings. */
import { readFile, stat } from "node:fs/promises"
import { join } from "node:path"
import { TokenizerFolderNotFoundError, TokenizerMalformedFileError } from "../errors.js"
import { asRecord, JsonContext, parseJson, tokenContent } from "./json.js"

/** What tokenizer_config.json and special_tokens_map.json say (config wins, as in transformers). */
export interface FolderConfig {
  tokenizerClass: string | undefined
  modelMaxLength: number | undefined
  bosToken: string | undefined
  eosToken: string | undefined
  unkToken: string | undefined
  padToken: string | undefined
  /** additional_special_tokens / extra_special_tokens */
  extraSpecialTokens: string[] | undefined
  extraIds: number | undefined
  /** files that were read */
  files: string[]
}

/** Throw TokenizerFolderNotFoundError unless `folder` is a directory. */
export async function checkFolder(folder: string): Promise<void> {
  try {
    const info = await stat(folder)
    if (!info.isDirectory()) throw new Error("not a directory")
  } catch (error) {
    throw new TokenizerFolderNotFoundError(folder, { cause: error })
  }
}

/** Whether `folder/name` is a file. */
export async function hasFile(folder: string, name: string): Promise<boolean> {
  try {
    return (await stat(join(folder, name))).isFile()
  } catch {
    return false
  }
}

/** Read a file as bytes, mapping I/O errors to TokenizerMalformedFileError. */
export async function readBytes(folder: string, name: string): Promise<Uint8Array> {
  const path = join(folder, name)
  try {
    return new Uint8Array(await readFile(path))
  } catch (error) {
    throw new TokenizerMalformedFileError(path, "the file cannot be read", { cause: error })
  }
}

/** Read and parse a JSON file. */
export async function readJson(folder: string, name: string): Promise<{ json: unknown; ctx: JsonContext }> {
  const path = join(folder, name)
  const ctx = new JsonContext(path)
  const bytes = await readBytes(folder, name)
  return { json: parseJson(new TextDecoder().decode(bytes), ctx), ctx }
}

/** Read the optional config files of a tokenizer folder. */
export async function readFolderConfig(folder: string): Promise<FolderConfig> {
  const files: string[] = []
  const readOptional = async (name: string): Promise<Record<string, unknown>> => {
    if (!(await hasFile(folder, name))) return {}
    const { json, ctx } = await readJson(folder, name)
    files.push(name)
    return asRecord(json, ctx, name)
  }
  const config = await readOptional("tokenizer_config.json")
  const map = await readOptional("special_tokens_map.json")
  const pick = (key: string): string | undefined => tokenContent(config[key]) ?? tokenContent(map[key])
  const list = (value: unknown): string[] | undefined =>
    Array.isArray(value) ? value.map(tokenContent).filter((t): t is string => t !== undefined) : undefined
  const maxLength = config["model_max_length"]
  const extraIds = config["extra_ids"]
  return {
    tokenizerClass: typeof config["tokenizer_class"] === "string" ? config["tokenizer_class"] : undefined,
    // transformers writes a huge sentinel (1e30) when the length is unknown
    modelMaxLength: typeof maxLength === "number" && Number.isInteger(maxLength) && maxLength > 0 && maxLength < 1e7 ? maxLength : undefined,
    bosToken: pick("bos_token"),
    eosToken: pick("eos_token"),
    unkToken: pick("unk_token"),
    padToken: pick("pad_token"),
    extraSpecialTokens:
      list(config["additional_special_tokens"]) ??
      list(config["extra_special_tokens"]) ??
      list(map["additional_special_tokens"]),
    extraIds: typeof extraIds === "number" && Number.isInteger(extraIds) && extraIds >= 0 ? extraIds : undefined,
    files,
  }
}
