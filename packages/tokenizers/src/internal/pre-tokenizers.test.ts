import { describe, expect, it } from "vitest"
import { JsonContext } from "./json.js"
import { buildPreTokenizer, charSpans, regexSpans, splitSpans, type SplitBehavior } from "./pre-tokenizers.js"

const ctx = new JsonContext("test")

describe("split behaviors (tokenizers' NormalizedString::split)", () => {
  const text = "the-final--countdown"
  const spans = (): ReturnType<typeof charSpans> => charSpans(text, (cp) => cp === 0x2d)
  const cases: Array<[SplitBehavior, string[]]> = [
    ["Removed", ["the", "final", "countdown"]],
    ["Isolated", ["the", "-", "final", "-", "-", "countdown"]],
    ["MergedWithPrevious", ["the-", "final-", "-", "countdown"]],
    ["MergedWithNext", ["the", "-final", "-", "-countdown"]],
    ["Contiguous", ["the", "-", "final", "--", "countdown"]],
  ]
  for (const [behavior, expected] of cases) {
    it(behavior, () => expect(splitSpans(text, spans(), behavior)).toEqual(expected))
  }

  it("finds regex spans covering the whole text", () => {
    expect(regexSpans("ab12cd", /\d+/gu)).toEqual([[0, 2, false], [2, 4, true], [4, 6, false]])
    expect(regexSpans("", /\d+/gu)).toEqual([[0, 0, false]])
  })
})

describe("pre-tokenizers from tokenizer.json", () => {
  it("CLIP: inverted split keeps the regex matches, then byte-level", () => {
    const pre = buildPreTokenizer(
      {
        type: "Sequence",
        pretokenizers: [
          { type: "Split", pattern: { Regex: "'s|'t|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" }, behavior: "Removed", invert: true },
          { type: "ByteLevel", add_prefix_space: false, use_regex: true },
        ],
      },
      ctx,
    )
    expect(pre?.(["it's 42 cats!! é"])).toEqual(["it", "'s", "4", "2", "cats", "!!", "\u00c3\u00a9"])
  })

  it("T5: whitespace split, then Metaspace with prepend 'always' and split", () => {
    const pre = buildPreTokenizer(
      { type: "Sequence", pretokenizers: [{ type: "WhitespaceSplit" }, { type: "Metaspace", replacement: "\u2581", prepend_scheme: "always", split: true }] },
      ctx,
    )
    expect(pre?.(["  Hey \u0085 friend!  "])).toEqual(["\u2581Hey", "\u2581friend!"])
    expect(pre?.(["\u2581a a\u2581b"])).toEqual(["\u2581a", "\u2581a", "\u2581b"])
    expect(pre?.([""])).toEqual([])
    const never = buildPreTokenizer({ type: "Metaspace", replacement: "\u2581", prepend_scheme: "never", split: true }, ctx)
    expect(never?.(["a b"])).toEqual(["a", "\u2581b"])
  })

  it("rejects unknown pre-tokenizers", () => {
    expect(() => buildPreTokenizer({ type: "Punctuation" }, ctx)).toThrow(/found Punctuation/)
    expect(() => buildPreTokenizer({ type: "Metaspace", replacement: "\u2581", prepend_scheme: "first" }, ctx)).toThrow(/prepend_scheme/)
  })
})
