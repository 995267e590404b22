import { describe, expect, it } from "vitest"
import { Tensor, relativeL2, slice } from "@pagkit/tensor"
import type { SessionLike } from "@pagkit/models-core"
import { encodePixArtPrompt } from "./encode-prompt.js"
import { PixArtInputError, PixArtModelError } from "./errors.js"
import { sharedTinyPixArt } from "./internal/fixtures.js"

const PROMPT = "a small cactus with a happy face in the Sahara desert"

function maskSum(mask: Tensor, row = 0): number {
  const length = mask.shape[1]!
  let total = 0
  for (let i = 0; i < length; i++) total += Number(mask.data[row * length + i])
  return total
}

describe("encodePixArtPrompt (diffusers' PixArtSigma encode_prompt)", () => {
  it("pads to 300 tokens and returns the mask for the transformer", async () => {
    const model = await sharedTinyPixArt()
    const out = await model.encodePrompt({ prompt: PROMPT })
    expect(out.promptEmbeds.shape).toEqual([1, 300, 32])
    expect(out.promptAttentionMask.shape).toEqual([1, 300])
    expect(maskSum(out.promptAttentionMask)).toBe(26) // 25 pieces of the lowercased prompt + </s>
    expect(out.warnings).toEqual([])
  })

  it("encodes the default negative prompt \"\" (mask: only </s>), not zeros", async () => {
    const model = await sharedTinyPixArt()
    const out = await model.encodePrompt({ prompt: PROMPT })
    expect(out.negativePromptEmbeds?.shape).toEqual([1, 300, 32])
    expect(maskSum(out.negativePromptAttentionMask!)).toBe(1)
    expect([...out.negativePromptEmbeds!.data].some((v) => v !== 0)).toBe(true)
    const explicit = await model.encodePrompt({ prompt: PROMPT, negativePrompt: "" })
    expect(relativeL2(explicit.negativePromptEmbeds!, out.negativePromptEmbeds!)).toBe(0)
  })

  it("lowercases and strips prompts like diffusers' _text_preprocessing", async () => {
    const model = await sharedTinyPixArt()
    const a = await model.encodePrompt({ prompt: "  A Small CACTUS ", doCfg: false })
    const b = await model.encodePrompt({ prompt: "a small cactus", doCfg: false })
    expect(relativeL2(a.promptEmbeds, b.promptEmbeds)).toBe(0)
    expect(a.negativePromptEmbeds).toBeUndefined()
  })

  it("repeats each prompt numImagesPerPrompt times, row by row", async () => {
    const model = await sharedTinyPixArt()
    const out = await model.encodePrompt({ prompt: ["a cat", "a dog"], numImagesPerPrompt: 2, negativePrompt: ["x", "y"] })
    expect(out.promptEmbeds.shape).toEqual([4, 300, 32])
    expect(out.negativePromptAttentionMask?.shape).toEqual([4, 300])
    expect(relativeL2(slice(out.promptEmbeds, 0, 0, 1), slice(out.promptEmbeds, 0, 1, 2))).toBe(0)
    expect(relativeL2(slice(out.promptEmbeds, 0, 1, 2), slice(out.promptEmbeds, 0, 2, 3))).toBeGreaterThan(0.01)
    await expect(model.encodePrompt({ prompt: ["a", "b"], negativePrompt: ["x"] })).rejects.toThrow(PixArtInputError)
  })

  it("warns when a prompt is longer than maxSequenceLength", async () => {
    const model = await sharedTinyPixArt()
    const out = await model.encodePrompt({ prompt: PROMPT, maxSequenceLength: 8, doCfg: true })
    expect(out.promptEmbeds.shape).toEqual([1, 8, 32])
    expect(out.negativePromptEmbeds?.shape).toEqual([1, 8, 32])
    expect(out.warnings).toHaveLength(1)
    expect(out.warnings[0]).toMatch(/truncated because T5 can only handle sequences up to 8 tokens/)
  })

  it("explains which export is needed when the text encoder lacks attention_mask", async () => {
    const model = await sharedTinyPixArt()
    const noMask: SessionLike = {
      inputs: [{ name: "input_ids", dtype: "int64", shape: ["batch", "sequence"] }],
      outputs: [{ name: "last_hidden_state", dtype: "float32", shape: ["batch", "sequence", 32] }],
      hasInput: (name) => name === "input_ids",
      run: async () => ({}),
    }
    const run = encodePixArtPrompt({ tokenizer: model.tokenizer, textEncoder: noMask }, { prompt: "a cat" })
    await expect(run).rejects.toThrow(PixArtModelError)
    await expect(run).rejects.toThrow(/input_ids and attention_mask/)
  })

  it("takes ready embeddings with their masks", async () => {
    const model = await sharedTinyPixArt()
    const embeds = Tensor.zeros([1, 10, 32])
    const mask = new Tensor("int32", new Int32Array(10).fill(1), [1, 10])
    const out = await model.encodePrompt({ promptEmbeds: embeds, promptAttentionMask: mask, numImagesPerPrompt: 3 })
    expect(out.promptEmbeds.shape).toEqual([3, 10, 32])
    expect(out.negativePromptEmbeds?.shape).toEqual([3, 10, 32]) // "" encoded to the prompt's length
    await expect(model.encodePrompt({ promptEmbeds: embeds })).rejects.toThrow(/promptAttentionMask/)
  })
})
