import { describe, expect, it } from "vitest"
import { TokenizerInputError } from "../errors.js"
import { BpeModel } from "./bpe-model.js"
import { UnigramModel } from "./unigram-model.js"

describe("a token the model cannot encode, without an unk token", () => {
  it("BPE names the text and says what to do", () => {
    const model = new BpeModel({
      vocab: new Map([["a</w>", 0]]), merges: [], unkToken: undefined, endOfWordSuffix: "</w>",
      continuingSubwordPrefix: "", fuseUnk: false, ignoreMerges: false,
    } as never)
    expect(model.tokenize("a")).toEqual([0])
    expect(() => model.tokenize("b")).toThrow(TokenizerInputError)
    expect(() => model.tokenize("b")).toThrow(/cannot encode.*Remove or replace it/)
  })
  it("unigram names the text and says what to do", () => {
    const model = new UnigramModel({ vocab: [["a", -1]], unkId: undefined, byteFallback: false } as never)
    expect(model.tokenize("a")).toEqual([0])
    expect(() => model.tokenize("b")).toThrow(TokenizerInputError)
  })
})
