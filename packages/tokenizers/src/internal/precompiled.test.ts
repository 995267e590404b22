import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { tinyModelPath } from "@pagkit/tiny-models"
import { PrecompiledCharsmap } from "./precompiled.js"

const json = JSON.parse(readFileSync(`${tinyModelPath("tiny-pixart-sigma")}/tokenizer/tokenizer.json`, "utf8")) as {
  normalizer: { precompiled_charsmap: string }
}
const charsmap = new PrecompiledCharsmap(new Uint8Array(Buffer.from(json.normalizer.precompiled_charsmap, "base64")))

describe("PrecompiledCharsmap (nmt_nfkc of the T5 fixture)", () => {
  it("applies NFKC-style rewrites from the trie", () => {
    expect(charsmap.normalize("ｆｕｌｌ")).toBe("full")
    expect(charsmap.normalize("½")).toBe("1\u20442")
    expect(charsmap.normalize("ﬁ ™ ①")).toBe("fi TM 1")
    expect(charsmap.normalize("a\u3000b\u200bc")).toBe("a b c")
    expect(charsmap.normalize("plain ascii stays")).toBe("plain ascii stays")
    expect(charsmap.normalize("")).toBe("")
  })

  it("removes control characters and stops keys at NUL as spm_precompiled does", () => {
    expect(charsmap.normalize("a\u0001b")).toBe("ab")
    expect(charsmap.normalize("a\u0000b")).toBe("a\u0000b")
  })

  it("rewrites a short grapheme whole, but a grapheme of 6+ bytes char by char (tokenizers' quirk)", () => {
    expect(charsmap.normalize("e\u0301")).toBe("\u00e9")
    expect(charsmap.normalize("A\u030a")).toBe("\u00c5")
    // "ﾊﾟ" is one 6-byte grapheme: each half is rewritten alone, so no composition to "パ"
    expect(charsmap.normalize("\uff8a\uff9f")).toBe("\u30cf\u309a")
    // the whole-grapheme lookup takes the shortest matching prefix
    expect(charsmap.transform("\uff8a\uff9f")).toBe("\u30cf")
    expect(charsmap.transform("abc")).toBeNull()
  })

  it("rejects blobs that are too short or inconsistent", () => {
    expect(() => new PrecompiledCharsmap(new Uint8Array([1, 0]))).toThrow(/header/)
    expect(() => new PrecompiledCharsmap(new Uint8Array([16, 0, 0, 0, 1, 2]))).toThrow(/16-byte trie/)
    expect(() => new PrecompiledCharsmap(new Uint8Array([0, 0, 0, 0]))).toThrow(/empty trie/)
  })
})
