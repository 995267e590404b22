import { describe, expect, it } from "vitest"
import { tinyModelPath } from "@pagkit/tiny-models"
import { loadClipTokenizer } from "./clip.js"
import { TokenizerError, TokenizerInputError } from "./errors.js"

const clip = await loadClipTokenizer(`${tinyModelPath("tiny-sdxl")}/tokenizer`)
const clip2 = await loadClipTokenizer(`${tinyModelPath("tiny-sdxl")}/tokenizer_2`)

/** A prompt of exactly `n` CLIP tokens ("cat" is one token). */
const catPrompt = (n: number): string => Array.from({ length: n }, () => "cat").join(" ")

describe("Tokenizer.encode (diffusers' padding and truncation)", () => {
  it("keeps a prompt of exactly 75 tokens whole, without warning", () => {
    const { inputIds, attentionMask, truncatedText, warnings } = clip.encode(catPrompt(75))
    expect(inputIds[0]).toHaveLength(77)
    expect(inputIds[0]?.[0]).toBe(49406)
    expect(inputIds[0]?.[76]).toBe(49407)
    expect(attentionMask[0]?.every((m) => m === 1)).toBe(true)
    expect(truncatedText).toEqual([undefined])
    expect(warnings).toEqual([])
  })

  it("truncates to BOS + 75 tokens + EOS and reports the removed text as diffusers does", () => {
    const prompt = `${catPrompt(75)} and a very small dog`
    const { inputIds, truncatedText, warnings } = clip.encode([prompt, "short"])
    expect(inputIds[0]).toHaveLength(77)
    expect(inputIds[0]?.[75]).toBe(2368)
    expect(inputIds[0]?.[76]).toBe(49407)
    expect(truncatedText).toEqual(["and a very small dog", undefined])
    expect(warnings).toEqual([
      "The following part of your input was truncated because CLIP can only handle sequences up to 77 tokens: ['and a very small dog']",
    ])
    // tokenizer_2 truncates the same way; only padding differs
    expect(Array.from(clip2.encode(prompt).inputIds[0] ?? [])).toEqual(Array.from(inputIds[0] ?? []))
  })

  it("accepts a single string or an array, and keeps the batch order", () => {
    const single = clip.encode("a photo of a cat")
    const batch = clip.encode(["a dog", "a photo of a cat"])
    expect(batch.inputIds).toHaveLength(2)
    expect(Array.from(batch.inputIds[1] ?? [])).toEqual(Array.from(single.inputIds[0] ?? []))
  })

  it("supports padding 'longest' and 'none', other lengths, and no special tokens", () => {
    const longest = clip.encode(["a photo of a cat", "a dog"], { padding: "longest" })
    expect(longest.inputIds.map((r) => r.length)).toEqual([7, 7])
    expect(Array.from(longest.inputIds[1] ?? [])).toEqual([49406, 320, 1929, 49407, 49407, 49407, 49407])
    expect(Array.from(longest.attentionMask[1] ?? [])).toEqual([1, 1, 1, 1, 0, 0, 0])
    const none = clip.encode(["a photo of a cat", "a dog"], { padding: "none" })
    expect(none.inputIds.map((r) => r.length)).toEqual([7, 4])
    const short = clip.encode("a photo of a cat", { maxLength: 5 })
    expect(Array.from(short.inputIds[0] ?? [])).toEqual([49406, 320, 1125, 539, 49407])
    expect(short.truncatedText[0]).toBe("a cat")
    const raw = clip.encode("a photo", { addSpecialTokens: false, padding: "none" })
    expect(Array.from(raw.inputIds[0] ?? [])).toEqual([320, 1125])
    const untruncated = clip.encode(catPrompt(80), { truncation: false })
    expect(untruncated.inputIds[0]).toHaveLength(82)
    expect(untruncated.warnings).toEqual([])
  })

  it("rejects non-string prompts and bad options with TokenizerInputError", () => {
    const bad = [
      () => clip.encode(42 as unknown as string),
      () => clip.encode(["ok", null as unknown as string]),
      () => clip.encode(undefined as unknown as string),
      () => clip.encode("x", { maxLength: 0 }),
      () => clip.encode("x", { maxLength: 1 }),
      () => clip.encode("x", { maxLength: 7.5 }),
      () => clip.encode("x", { padding: "left" as "none" }),
      () => clip.tokenize({} as unknown as string),
    ]
    for (const call of bad) {
      expect(call).toThrow(TokenizerInputError)
      try {
        call()
      } catch (error) {
        expect(error).toBeInstanceOf(TokenizerError)
        expect((error as TokenizerError).code).toBe("TOKENIZER_INVALID_INPUT")
      }
    }
    expect(() => clip.encode(["ok", 3 as unknown as string])).toThrow(/prompt 1 to be a string, found number/)
  })

  it("round-trips ids and token strings", () => {
    expect(clip.tokenToId("cat</w>")).toBe(2368)
    expect(clip.idToToken(2368)).toBe("cat</w>")
    expect(clip.tokenToId("<|startoftext|>")).toBe(49406)
    expect(clip.tokenToId("no-such-token")).toBeUndefined()
    expect(clip.idToToken(10 ** 6)).toBeUndefined()
  })
})
