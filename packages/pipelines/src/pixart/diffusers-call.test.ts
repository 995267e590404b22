import { describe, expect, it } from "vitest"
import { InvalidOptionError } from "../errors.js"
import { pixartCallFromDiffusers } from "./diffusers-call.js"

describe("pixartCallFromDiffusers", () => {
  it("maps snake_case arguments to the pipeline's options and keeps the seed apart", () => {
    const mapped = pixartCallFromDiffusers({
      prompt: "a cactus",
      negative_prompt: "blurry",
      height: 32,
      width: 32,
      num_inference_steps: 5,
      use_resolution_binning: false,
      guidance_scale: 4.5,
      pag_scale: 3.0,
      pag_adaptive_scale: 0.1,
      num_images_per_prompt: 2,
      max_sequence_length: 120,
      clean_caption: false,
      output_type: "np",
      seed: 7,
    })
    expect(mapped.seed).toBe(7)
    expect(mapped.options).toEqual({
      prompt: "a cactus",
      negativePrompt: "blurry",
      height: 32,
      width: 32,
      numInferenceSteps: 5,
      useResolutionBinning: false,
      guidanceScale: 4.5,
      pagScale: 3,
      pagAdaptiveScale: 0.1,
      numImagesPerPrompt: 2,
      maxSequenceLength: 120,
    })
  })

  it("rejects unknown arguments, naming them", () => {
    expect(() => pixartCallFromDiffusers({ prompt: "x", guidance_rescale: 0.7, strength: 0.5 })).toThrow(InvalidOptionError)
    expect(() => pixartCallFromDiffusers({ prompt: "x", guidance_rescale: 0.7, strength: 0.5 })).toThrow(/guidance_rescale, strength/)
  })

  it("rejects what pagkit cannot honour", () => {
    expect(() => pixartCallFromDiffusers({ prompt: "x", clean_caption: true })).toThrow(/clean_caption/)
    expect(() => pixartCallFromDiffusers({ prompt: 3 })).toThrow(/prompt=3/)
    expect(() => pixartCallFromDiffusers({ prompt: "x", seed: 1.5 })).toThrow(/seed/)
  })
})
