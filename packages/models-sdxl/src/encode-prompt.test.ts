import { describe, expect, it } from "vitest"
import { Tensor } from "@pagkit/tensor"
import { ModelInputError } from "@pagkit/models-core"
import { sharedTinySdxl } from "./internal/fixtures.js"
import { encodeSdxlPrompt } from "./encode-prompt.js"
import { hiddenStateCount } from "./text-encoder.js"

const prompt = "A painting of a squirrel eating a burger"

function rows(data: Float32Array, rowSize: number, r: number): number[] {
  return Array.from(data.subarray(r * rowSize, (r + 1) * rowSize))
}

describe("encodeSdxlPrompt", () => {
  it("concatenates both encoders' penultimate hidden states; pooled from text_encoder_2", async () => {
    const model = await sharedTinySdxl()
    expect(hiddenStateCount(model.textEncoder!)).toBe(6)
    expect(model.textEncoder!.inputs[0]!.dtype).toBe("int32")
    expect(model.textEncoder2.inputs[0]!.dtype).toBe("int64")
    const out = await model.encodePrompt({ prompt, doCfg: false })
    expect(out.promptEmbeds.shape).toEqual([1, 77, 64])
    expect(out.pooledPromptEmbeds.shape).toEqual([1, 32])
    expect(out.negativePromptEmbeds).toBeUndefined()
    // the first 32 channels are text_encoder's hidden_states.4, the last 32 text_encoder_2's
    const ids = model.tokenizer!.encode([prompt], { maxLength: 77 }).inputIds[0]!
    const te1 = await model.textEncoder!.run({ input_ids: new Tensor("int32", Int32Array.from(ids), [1, 77]) })
    const h4 = te1["hidden_states.4"]!.data as Float32Array
    expect(rows(out.promptEmbeds.data, 64, 5).slice(0, 32)).toEqual(rows(h4, 32, 5))
    expect(out.warnings).toEqual([])
  })

  it("zeros the negatives when no negative prompt is given (force_zeros_for_empty_prompt)", async () => {
    const model = await sharedTinySdxl()
    const out = await model.encodePrompt({ prompt, doCfg: true })
    expect(out.negativePromptEmbeds!.shape).toEqual([1, 77, 64])
    expect(out.negativePromptEmbeds!.data.every((v) => v === 0)).toBe(true)
    expect(out.negativePooledPromptEmbeds!.data.every((v) => v === 0)).toBe(true)
    // without the flag, "" is encoded
    const encodedEmpty = await encodeSdxlPrompt({ ...model, forceZerosForEmptyPrompt: false }, { prompt, doCfg: true })
    expect(encodedEmpty.negativePromptEmbeds!.data.some((v) => v !== 0)).toBe(true)
    // an explicit "" is encoded too, and equals the flag-off result
    const explicitEmpty = await model.encodePrompt({ prompt, negativePrompt: "", doCfg: true })
    expect(Array.from(explicitEmpty.negativePromptEmbeds!.data)).toEqual(Array.from(encodedEmpty.negativePromptEmbeds!.data))
  })

  it("encodes a negative prompt like a prompt", async () => {
    const model = await sharedTinySdxl()
    const out = await model.encodePrompt({ prompt, negativePrompt: "blurry, low quality", doCfg: true })
    const asPrompt = await model.encodePrompt({ prompt: "blurry, low quality", doCfg: false })
    expect(Array.from(out.negativePromptEmbeds!.data)).toEqual(Array.from(asPrompt.promptEmbeds.data))
    expect(Array.from(out.negativePooledPromptEmbeds!.data)).toEqual(Array.from(asPrompt.pooledPromptEmbeds.data))
  })

  it("repeats each prompt numImagesPerPrompt times in a row", async () => {
    const model = await sharedTinySdxl()
    const out = await model.encodePrompt({ prompt: ["a cat", "a dog"], numImagesPerPrompt: 2, doCfg: true, negativePrompt: ["x", "y"] })
    expect(out.promptEmbeds.shape).toEqual([4, 77, 64])
    expect(out.negativePooledPromptEmbeds!.shape).toEqual([4, 32])
    const size = 77 * 64
    expect(rows(out.promptEmbeds.data, size, 0)).toEqual(rows(out.promptEmbeds.data, size, 1))
    expect(rows(out.promptEmbeds.data, size, 2)).toEqual(rows(out.promptEmbeds.data, size, 3))
    expect(rows(out.promptEmbeds.data, size, 1)).not.toEqual(rows(out.promptEmbeds.data, size, 2))
    await expect(model.encodePrompt({ prompt: ["a", "b"], negativePrompt: ["x"] })).rejects.toBeInstanceOf(ModelInputError)
  })

  it("clip skip picks an earlier hidden state for the prompt only; prompt2 goes to text_encoder_2", async () => {
    const model = await sharedTinySdxl()
    const base = await model.encodePrompt({ prompt, doCfg: false })
    const skipped = await model.encodePrompt({ prompt, doCfg: false, clipSkip: 1 })
    expect(Array.from(skipped.promptEmbeds.data)).not.toEqual(Array.from(base.promptEmbeds.data))
    expect(Array.from(skipped.pooledPromptEmbeds.data)).toEqual(Array.from(base.pooledPromptEmbeds.data))
    const two = await model.encodePrompt({ prompt, prompt2: "a red circle", doCfg: false })
    expect(rows(two.promptEmbeds.data, 64, 3).slice(0, 32)).toEqual(rows(base.promptEmbeds.data, 64, 3).slice(0, 32))
    expect(rows(two.promptEmbeds.data, 64, 3).slice(32)).not.toEqual(rows(base.promptEmbeds.data, 64, 3).slice(32))
    await expect(model.encodePrompt({ prompt, clipSkip: 9 })).rejects.toThrow(/clip_skip 9 is too large/)
  })

  it("accepts precomputed embeddings and checks they come with pooled ones", async () => {
    const model = await sharedTinySdxl()
    const base = await model.encodePrompt({ prompt, doCfg: false })
    const again = await model.encodePrompt({
      promptEmbeds: base.promptEmbeds,
      pooledPromptEmbeds: base.pooledPromptEmbeds,
      numImagesPerPrompt: 3,
    })
    expect(again.promptEmbeds.shape).toEqual([3, 77, 64])
    expect(again.negativePromptEmbeds!.data.every((v) => v === 0)).toBe(true)
    await expect(model.encodePrompt({ promptEmbeds: base.promptEmbeds })).rejects.toThrow(/pooledPromptEmbeds/)
  })
})
