import { describe, expect, it } from "vitest"
import { tinyModelPath } from "@pagkit/tiny-models"
import { loadT5Tokenizer, PIXART_MAX_SEQUENCE_LENGTH } from "./t5.js"

const FOLDER = `${tinyModelPath("tiny-pixart-sigma")}/tokenizer`
const t5 = await loadT5Tokenizer(FOLDER)
const t5FromModel = await loadT5Tokenizer(FOLDER, { prefer: "spiece.model" })

/** Prompts for the tokenizer.json / spiece.model parity check. */
const PROMPTS = [
  "a photo of a cat",
  "a red circle on a white background",
  "A Photograph of an Astronaut riding a HORSE!",
  "   extra    spaces\tand\ttabs\nand\r\nnewlines   ",
  "punctuation: ,.;:!?'\"()[]{}<>-_/\\@#$%^&*+=|~`",
  "numbers 0123456789 3.14159 1,000,000 -42 1e-5",
  "naïve café résumé straße Ærøskøbing ÿ œ",
  "ｆｕｌｌｗｉｄｔｈ ｔｅｘｔ　ideographic space ½ ① ™ ﬁ",
  "e\u0301 combining A\u030a ﾊﾟ ｶﾞ",
  "日本語のテキスト 中文 한국어 Ελληνικά русский",
  "emoji 🐱🐶🎨 👨‍👩‍👧 flags 🇫🇷",
  "zero\u200bwidth\u200djoiner\ufeffbom\u00a0nbsp\u0085nel",
  "</s> <pad> <unk> <extra_id_0> <extra_id_99>",
  "a ▁ b ▁▁c",
  "",
  " ",
  "word ".repeat(400),
]

describe("T5 tokenizer (tiny-pixart-sigma)", () => {
  it("has T5's special tokens: pad 0, </s> 1, <unk> 2, 100 sentinels", () => {
    expect(t5.special).toMatchObject({ padTokenId: 0, eosTokenId: 1, unkTokenId: 2, bosTokenId: undefined })
    expect(t5.vocabSize).toBe(1100)
    expect(t5.tokenToId("<extra_id_0>")).toBe(1099)
    expect(t5.tokenToId("<extra_id_99>")).toBe(1000)
    expect(t5.numSpecialTokens).toBe(1)
    expect(t5FromModel.vocabSize).toBe(1100)
    expect(t5FromModel.special).toEqual(t5.special)
  })

  it("segments with the unigram model and appends </s>", () => {
    expect(t5.encodeText("a photo of a cat")).toEqual([29, 711, 55, 29, 98, 87, 1])
    expect(t5.tokenize("a photo of a cat")).toEqual(["▁a", "▁photo", "▁of", "▁a", "▁c", "at"])
    expect(t5.encodeText("a photo of a cat", { addSpecialTokens: false })).toEqual([29, 711, 55, 29, 98, 87])
  })

  it("encodes the empty prompt as [</s>, pad, …] with mask [1, 0, …] (PixArt's default negative prompt)", () => {
    const { inputIds, attentionMask, warnings } = t5.encode([""], { maxLength: PIXART_MAX_SEQUENCE_LENGTH })
    expect(inputIds[0]).toHaveLength(300)
    expect(Array.from(inputIds[0] ?? []).slice(0, 3)).toEqual([1, 0, 0])
    expect(attentionMask[0]?.reduce((a, b) => a + b, 0)).toBe(1)
    expect(attentionMask[0]?.[0]).toBe(1)
    expect(warnings).toEqual([])
  })

  it("pads to max_length with <pad> and masks real tokens including </s>", () => {
    const { inputIds, attentionMask } = t5.encode(["a photo of a cat", "a dog"], { maxLength: 300 })
    expect(Array.from(inputIds[0] ?? []).slice(0, 9)).toEqual([29, 711, 55, 29, 98, 87, 1, 0, 0])
    expect(Array.from(attentionMask[0] ?? []).slice(0, 9)).toEqual([1, 1, 1, 1, 1, 1, 1, 0, 0])
    expect(attentionMask[1]?.reduce((a, b) => a + b, 0)).toBe(t5.encodeText("a dog").length)
  })

  it("truncates to max_length − 1 tokens plus </s> with a T5 warning", () => {
    const prompt = "word ".repeat(400)
    const full = t5.encodeText(prompt, { addSpecialTokens: false })
    const { inputIds, attentionMask, truncatedText, warnings } = t5.encode(prompt, { maxLength: 300 })
    expect(inputIds[0]).toHaveLength(300)
    expect(Array.from(inputIds[0] ?? []).slice(0, 299)).toEqual(full.slice(0, 299))
    expect(inputIds[0]?.[299]).toBe(1)
    expect(attentionMask[0]?.every((m) => m === 1)).toBe(true)
    expect(truncatedText[0]).toBe(t5.decode(full.slice(299)))
    expect(warnings[0]).toMatch(/^The following part of your input was truncated because T5 can only handle sequences up to 300 tokens: \['/)
  })

  it("collapses whitespace and applies the nmt_nfkc charsmap", () => {
    expect(t5.encodeText("  hello \t  world \n")).toEqual(t5.encodeText("hello world"))
    expect(t5.encodeText("Ｈｅｌｌｏ")).toEqual(t5.encodeText("Hello"))
    expect(t5.encodeText("ﬁ ™")).toEqual(t5.encodeText("fi TM"))
    expect(t5.encodeText("a\u3000b")).toEqual(t5.encodeText("a b"))
    // unknown characters in a row become one <unk>
    expect(t5.encodeText("🐱🐶🎨", { addSpecialTokens: false })).toEqual([3, 2])
  })

  it("cuts out sentinels and special tokens written in the text", () => {
    expect(t5.encodeText("<extra_id_0> x </s>")).toEqual([1099, 3, 65, 1, 1])
  })

  it("decodes with the Metaspace decoder", () => {
    expect(t5.decode(t5.encodeText("a photo of a cat"))).toBe("a photo of a cat</s>")
    expect(t5.decode(t5.encodeText("a photo of a cat"), { skipSpecialTokens: true })).toBe("a photo of a cat")
  })

  it("gives identical ids from tokenizer.json and from spiece.model", () => {
    for (const prompt of PROMPTS) expect(t5FromModel.encodeText(prompt), prompt).toEqual(t5.encodeText(prompt))
    let seed = 7
    const alphabet = Array.from(" abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"()-àéïõüßÆ½ｆ①日本語 \t")
    for (let k = 0; k < 500; k++) {
      let prompt = ""
      const length = 1 + (k % 50)
      for (let i = 0; i < length; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648
        prompt += alphabet[seed % alphabet.length]
      }
      expect(t5FromModel.encodeText(prompt), prompt).toEqual(t5.encodeText(prompt))
    }
  })

  it("tokenizes 100 prompts in under 50 ms", () => {
    const prompts = Array.from({ length: 100 }, (_, i) => `a photo of cat number ${i}, wearing a red hat, highly detailed, 4k, trending`)
    let best = Infinity
    for (let run = 0; run < 5; run++) {
      const fresh = prompts.map((p) => `${p} ${run}`)
      const start = performance.now()
      t5.encode(fresh, { maxLength: 300 })
      best = Math.min(best, performance.now() - start)
    }
    expect(best).toBeLessThan(50)
  })
})
