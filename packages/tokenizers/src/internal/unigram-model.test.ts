import { describe, expect, it } from "vitest"
import { UnigramModel } from "./unigram-model.js"

const model = new UnigramModel({
  vocab: [
    ["<unk>", 0],
    ["\u2581", -1],
    ["a", -2],
    ["b", -2],
    ["ab", -3],
    ["\u2581a", -1.5],
  ],
  unkId: 0,
  byteFallback: false,
})
const tokens = (m: UnigramModel, piece: string): string[] => m.tokenize(piece).map((id) => m.idToToken(id) ?? "?")

describe("UnigramModel (Viterbi of tokenizers' encode_optimized)", () => {
  it("picks the highest-scoring segmentation", () => {
    // ▁a + b = -3.5 beats ▁ + ab = -4 and ▁ + a + b = -5
    expect(tokens(model, "\u2581ab")).toEqual(["\u2581a", "b"])
    expect(tokens(model, "ab")).toEqual(["ab"])
    expect(model.tokenize("")).toEqual([])
  })

  it("fuses a run of unknown characters into one unk scored min − 10 per character", () => {
    expect(model.tokenize("\u2581xyb")).toEqual([1, 0, 3])
    expect(model.tokenize("\u2581axb")).toEqual([5, 0, 3])
    expect(model.tokenize("x\u2581y")).toEqual([0, 1, 0])
    expect(model.tokenize("🐱🐶")).toEqual([0])
  })

  it("keeps the first candidate on equal scores", () => {
    const tie = new UnigramModel({ vocab: [["<unk>", 0], ["a", -1], ["b", -1], ["ab", -2]], unkId: 0, byteFallback: false })
    // "ab" (from position 0) is seen before "a"+"b" reaches position 2 with the same score
    expect(tokens(tie, "ab")).toEqual(["ab"])
  })

  it("falls back to byte pieces when asked", () => {
    const bytes = new UnigramModel({
      vocab: [["<unk>", 0], ["a", -1], ["<0xC3>", -5], ["<0xA9>", -5]],
      unkId: 0,
      byteFallback: true,
    })
    expect(tokens(bytes, "a\u00e9")).toEqual(["a", "<0xC3>", "<0xA9>"])
    expect(tokens(bytes, "z")).toEqual(["<unk>"])
  })

  it("rejects an unk id outside the vocabulary", () => {
    expect(() => new UnigramModel({ vocab: [["a", -1]], unkId: 3, byteFallback: false })).toThrow(/unk_id 3/)
  })
})
