import { mkdtemp, copyFile, rm, writeFile, mkdir } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { tinyModelPath } from "@pagkit/tiny-models"
import {
  TokenizerError,
  TokenizerFileMissingError,
  TokenizerFolderNotFoundError,
  TokenizerMalformedFileError,
  UnsupportedTokenizerError,
} from "./errors.js"
import { detectTokenizerKind, loadTokenizer } from "./load-tokenizer.js"
import { loadClipTokenizer } from "./clip.js"
import { loadT5Tokenizer } from "./t5.js"

const SDXL = tinyModelPath("tiny-sdxl")
const PIXART = tinyModelPath("tiny-pixart-sigma")
let scratch = ""

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "pagkit-tokenizers-"))
})
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true })
})

/** A folder under the scratch dir with the given files (copied from `from`, or literal contents). */
async function folderWith(name: string, files: Record<string, string | { from: string }>): Promise<string> {
  const dir = join(scratch, name)
  await mkdir(dir, { recursive: true })
  for (const [file, content] of Object.entries(files)) {
    if (typeof content === "string") await writeFile(join(dir, file), content)
    else await copyFile(content.from, join(dir, file))
  }
  return dir
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    expect(error).toBeInstanceOf(TokenizerError)
    return (error as TokenizerError).code
  }
  throw new Error("expected a TokenizerError")
}

describe("loadTokenizer", () => {
  it("detects CLIP and T5 folders", async () => {
    expect(await detectTokenizerKind(`${SDXL}/tokenizer`)).toBe("clip")
    expect(await detectTokenizerKind(`${SDXL}/tokenizer_2`)).toBe("clip")
    expect(await detectTokenizerKind(`${PIXART}/tokenizer`)).toBe("t5")
    const clip = await loadTokenizer(`${SDXL}/tokenizer_2`)
    expect(clip.kind).toBe("clip")
    expect(clip.padTokenId).toBe(0)
    const t5 = await loadTokenizer(`${PIXART}/tokenizer`)
    expect(t5.kind).toBe("t5")
  })

  it("detects the kind from the files when tokenizer_config.json is absent", async () => {
    const spm = await folderWith("spm-only", { "spiece.model": { from: `${PIXART}/tokenizer/spiece.model` } })
    expect(await detectTokenizerKind(spm)).toBe("t5")
    const t5 = await loadTokenizer(spm)
    expect(t5.encodeText("a photo of a cat")).toEqual([29, 711, 55, 29, 98, 87, 1])
    const bpe = await folderWith("bpe-only", {
      "vocab.json": { from: `${SDXL}/tokenizer/vocab.json` },
      "merges.txt": { from: `${SDXL}/tokenizer/merges.txt` },
    })
    const clip = await loadTokenizer(bpe)
    expect(clip.kind).toBe("clip")
    expect(clip.modelMaxLength).toBe(77)
    expect(clip.encode("a photo of a cat").inputIds[0]?.slice(0, 8)).toEqual(
      Int32Array.from([49406, 320, 1125, 539, 320, 2368, 49407, 49407]),
    )
  })

  it("names the missing folder", async () => {
    const missing = join(scratch, "does-not-exist")
    await expect(loadTokenizer(missing)).rejects.toThrow(TokenizerFolderNotFoundError)
    await expect(loadTokenizer(missing)).rejects.toThrow(/does-not-exist.*tokenizer\.json/s)
    expect(await codeOf(loadClipTokenizer(missing))).toBe("TOKENIZER_FOLDER_NOT_FOUND")
    expect(await codeOf(loadT5Tokenizer(`${SDXL}/tokenizer/vocab.json`))).toBe("TOKENIZER_FOLDER_NOT_FOUND")
  })

  it("says which files a CLIP or T5 folder needs", async () => {
    const empty = await folderWith("empty", {})
    await expect(loadTokenizer(empty)).rejects.toThrow(TokenizerFileMissingError)
    await expect(loadTokenizer(empty)).rejects.toThrow(/vocab\.json \+ merges\.txt.*spiece\.model/s)
    const vocabOnly = await folderWith("vocab-only", { "vocab.json": { from: `${SDXL}/tokenizer/vocab.json` } })
    await expect(loadClipTokenizer(vocabOnly)).rejects.toThrow(/Expected tokenizer\.json or vocab\.json \+ merges\.txt/)
    await expect(loadT5Tokenizer(vocabOnly)).rejects.toThrow(/Expected tokenizer\.json or spiece\.model/)
    expect(await codeOf(loadTokenizer(empty, { kind: "t5" }))).toBe("TOKENIZER_FILE_MISSING")
  })

  it("reports malformed files with their path", async () => {
    const badJson = await folderWith("bad-json", { "tokenizer.json": "{ not json", "tokenizer_config.json": '{"tokenizer_class": "CLIPTokenizer"}' })
    await expect(loadTokenizer(badJson)).rejects.toThrow(TokenizerMalformedFileError)
    await expect(loadTokenizer(badJson)).rejects.toThrow(/bad-json.tokenizer\.json/)
    const badConfig = await folderWith("bad-config", { "tokenizer_config.json": "[1," })
    expect(await codeOf(loadTokenizer(badConfig))).toBe("TOKENIZER_MALFORMED_FILE")
    const noModel = await folderWith("no-model", { "tokenizer.json": '{"added_tokens": []}' })
    await expect(loadClipTokenizer(noModel)).rejects.toThrow(/model: expected an object, found nothing/)
    const badMerges = await folderWith("bad-merges", { "vocab.json": '{"a": 0, "b": 1}', "merges.txt": "#version: 0.2\na b c\n" })
    await expect(loadClipTokenizer(badMerges)).rejects.toThrow(/merges\.txt.*line 2/)
    const badModel = await folderWith("bad-spm", { "spiece.model": "\u00ff\u00ff\u00ff not a proto" })
    expect(await codeOf(loadT5Tokenizer(badModel))).toBe("TOKENIZER_MALFORMED_FILE")
  })

  it("rejects tokenizer components it does not implement", async () => {
    const wordPiece = await folderWith("wordpiece", { "tokenizer.json": '{"model": {"type": "WordPiece", "vocab": {}}}' })
    await expect(loadClipTokenizer(wordPiece)).rejects.toThrow(UnsupportedTokenizerError)
    await expect(loadClipTokenizer(wordPiece)).rejects.toThrow(/found WordPiece, expected one of BPE, Unigram/)
  })
})
