import { describe, expect, it } from "vitest"
import { BpeModel } from "./bpe-model.js"

const VOCAB = ["a", "b", "c", "a</w>", "b</w>", "c</w>", "ab", "bc</w>", "abc</w>", "aa", "aa</w>", "<unk>"]
const vocab = new Map(VOCAB.map((token, id) => [token, id]))

function bpe(merges: Array<[string, string]>): BpeModel {
  return new BpeModel({
    vocab,
    merges,
    unkToken: "<unk>",
    endOfWordSuffix: "</w>",
    continuingSubwordPrefix: "",
    fuseUnk: false,
    ignoreMerges: false,
  })
}
const tokens = (model: BpeModel, piece: string): string[] => model.tokenize(piece).map((id) => model.idToToken(id) ?? "?")

describe("BpeModel (tokenizers' merge_word / Word::merge_all)", () => {
  it("appends the end-of-word suffix to the last character and merges by rank", () => {
    const model = bpe([["b", "c</w>"], ["a", "b"], ["a", "bc</w>"]])
    expect(tokens(model, "abc")).toEqual(["abc</w>"])
    expect(tokens(model, "c")).toEqual(["c</w>"])
  })

  it("applies the lowest rank first wherever it is", () => {
    // (a, b) outranks (b, c</w>), so "ab" forms and "abc</w>" can no longer be reached through "bc</w>"
    const model = bpe([["a", "b"], ["b", "c</w>"], ["a", "bc</w>"]])
    expect(tokens(model, "abc")).toEqual(["ab", "c</w>"])
  })

  it("merges the leftmost pair on ties, without overlap", () => {
    const model = bpe([["a", "a"], ["a", "a</w>"]])
    expect(tokens(model, "aaa")).toEqual(["aa", "a</w>"])
    expect(tokens(model, "aa")).toEqual(["aa</w>"])
  })

  it("maps characters outside the vocabulary to unk, one each (fuse_unk false)", () => {
    const model = bpe([])
    expect(tokens(model, "xya")).toEqual(["<unk>", "<unk>", "a</w>"])
  })

  it("rejects merges whose parts or result are not in the vocabulary", () => {
    expect(() => bpe([["a", "z"]])).toThrow(/missing from the vocabulary/)
    expect(() => bpe([["b", "a"]])).toThrow(/makes "ba"/)
  })
})
