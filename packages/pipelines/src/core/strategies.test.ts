// Whole-pipeline runs of the perturbation strategies on both families: they run in the batched layout, equal the
// separate-pass layout, perturb what they should, and the chain's JSON gives the same run.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { guidance } from "@pagkit/guidance"
import { cfg } from "@pagkit/guidance-cfg"
import { pag } from "@pagkit/guidance-pag"
import { seg } from "@pagkit/guidance-seg"
import { slg } from "@pagkit/guidance-slg"
import { BLOCK_SKIP, QUERY_BLUR } from "@pagkit/onnx"
import { maxAbsDiff, relativeL2 } from "@pagkit/tensor"
import { tinyModelPath } from "@pagkit/tiny-models"
import { AutoPipelineForText2Image } from "../auto-pipeline.js"
import type { SdxlText2ImagePipeline } from "../sdxl/text2image.js"
import { PixArtSigmaPipeline } from "../pixart/pixart-sigma-pipeline.js"

let sdxl: SdxlText2ImagePipeline
let pixart: PixArtSigmaPipeline
beforeAll(async () => {
  ;[sdxl, pixart] = await Promise.all([
    AutoPipelineForText2Image.fromPretrained(tinyModelPath("tiny-sdxl"), { enablePag: true }),
    PixArtSigmaPipeline.fromPretrained(tinyModelPath("tiny-pixart-sigma")),
  ])
})
afterAll(async () => {
  await Promise.all([sdxl.model.release(), pixart.release()])
})

const sdxlCall = { prompt: "a red circle", numInferenceSteps: 3, seed: 1, height: 64, width: 64, outputType: "latent" as const }
const pixartCall = { prompt: "a small cactus", numInferenceSteps: 3, seed: 2, outputType: "latent" as const }

describe("SEG and SLG on tiny SDXL", () => {
  it("install their kinds on first use, batch with CFG and PAG, and equal separate passes", async () => {
    const base = await sdxl.run({ ...sdxlCall, guidance: guidance(cfg({ scale: 5 })) })
    const chain = guidance(cfg({ scale: 5 }), pag({ scale: 3, layers: ["mid"] }), seg({ scale: 3, blurSigma: 4, layers: ["mid"] }), slg({ scale: 2, layers: ["up"], window: [0, 1] }))
    const batched = await sdxl.run({ ...sdxlCall, guidance: chain })
    expect(sdxl.model.unet.hookKinds).toEqual(expect.arrayContaining([QUERY_BLUR, BLOCK_SKIP]))
    const separate = await sdxl.run({ ...sdxlCall, guidance: chain, passes: "separate" })
    expect(relativeL2(separate.latents, batched.latents)).toBeLessThan(1e-5)
    expect(relativeL2(batched.latents, base.latents)).toBeGreaterThan(1e-3)
    const fromJson = await sdxl.run({ ...sdxlCall, guidance: chain.toJSON() })
    expect(maxAbsDiff(fromJson.latents, batched.latents)).toBe(0)
  })

  it("SEG with σ = 0 (no blur) adds nothing: the perturbed row equals the cond row", async () => {
    const plain = await sdxl.run({ ...sdxlCall, guidance: guidance(cfg({ scale: 5 })) })
    const noBlur = await sdxl.run({ ...sdxlCall, guidance: guidance(cfg({ scale: 5 }), seg({ scale: 3, blurSigma: 0, layers: ["mid"] })) })
    expect(relativeL2(noBlur.latents, plain.latents)).toBeLessThan(1e-5)
  })
})

describe("SEG and SLG on tiny PixArt-Sigma", () => {
  it("skip DiT blocks by index and blur queries with σ as an input", async () => {
    const base = await pixart.run({ ...pixartCall, pagScale: 0 })
    const skip = await pixart.run({ ...pixartCall, guidance: guidance(cfg({ scale: 4.5 }), slg({ scale: 2.8, layers: [5, 6], window: [0, 1] })) })
    expect(relativeL2(skip.latents, base.latents)).toBeGreaterThan(1e-3)
    const blur2 = await pixart.run({ ...pixartCall, guidance: guidance(cfg({ scale: 4.5 }), seg({ scale: 3, blurSigma: 2, layers: [3] })) })
    const session = pixart.model.transformer.session // query-blur installed by the run above
    const blur5 = await pixart.run({ ...pixartCall, guidance: guidance(cfg({ scale: 4.5 }), seg({ scale: 3, blurSigma: 5, layers: [3] })) })
    expect(pixart.model.transformer.session).toBe(session)
    expect(relativeL2(blur2.latents, blur5.latents)).toBeGreaterThan(1e-6) // σ changed the run without a rewrite
    expect(Array.from(blur2.latents.data as Float32Array).every(Number.isFinite)).toBe(true)
  })

  it("takes SD3's skip-layer call options as slg() with the SD3 window", async () => {
    const call = { ...pixartCall, numInferenceSteps: 6 }
    const viaOptions = await pixart.run({ ...call, guidanceScale: 4.5, pagScale: 0, skipGuidanceLayers: [5], skipLayerGuidanceStart: 0.1, skipLayerGuidanceStop: 0.7 })
    const chain = guidance(cfg({ scale: 4.5 }), pag({ scale: 0, layers: ["blocks.1"] }), slg({ layers: [5], window: [0.1, 0.7], windowRule: "sd3" }))
    const viaChain = await pixart.run({ ...call, guidance: chain })
    expect(maxAbsDiff(viaOptions.latents, viaChain.latents)).toBe(0)
    await expect(pixart.run({ ...call, skipLayerGuidanceScale: 2 })).rejects.toThrow(/without skipGuidanceLayers/)
  })
})
