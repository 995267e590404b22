// Cheaper PAG through the pipelines: execution "split" gives the unsplit run's numbers on both families.
import { describe, expect, it } from "vitest"
import { SplitSession } from "@pagkit/onnx"
import { relativeL2 } from "@pagkit/tensor"
import { tinyModelPath } from "@pagkit/tiny-models"
import { AutoPipelineForText2Image } from "../auto-pipeline.js"
import { PixArtSigmaPipeline } from "../pixart/pixart-sigma-pipeline.js"

describe('execution: "split"', () => {
  it("SDXL CFG + PAG on mid: the perturbed row reuses the cond row's prefix, same latents as the full graph", async () => {
    const pipe = await AutoPipelineForText2Image.fromPretrained(tinyModelPath("tiny-sdxl"), { enablePag: true, pagAppliedLayers: ["mid"] })
    const session = pipe.model.unet.session as SplitSession
    expect(session).toBeInstanceOf(SplitSession)
    const call = { prompt: "a red circle", numInferenceSteps: 2, seed: 9, height: 64, width: 64, guidanceScale: 5, pagScale: 3, outputType: "latent" as const }
    const full = await pipe.run(call)
    expect(session.lastRun?.execution).toBe("full")
    const split = await pipe.run({ ...call, execution: "split" })
    expect(session.lastRun).toMatchObject({ execution: "split", rows: 3, distinctRows: 2 })
    expect(relativeL2(split.latents, full.latents)).toBeLessThan(1e-6)
    await pipe.model.release()
  })

  it("PixArt PAG-only on a late block: [cond, perturbed] share the prefix", async () => {
    const pipe = await PixArtSigmaPipeline.fromPretrained(tinyModelPath("tiny-pixart-sigma"), { pagAppliedLayers: ["blocks.9"], layerMatching: "strict" })
    const call = { prompt: "a small cactus", numInferenceSteps: 2, seed: 3, guidanceScale: 1, pagScale: 3, outputType: "latent" as const }
    const full = await pipe.run(call)
    const split = await pipe.run({ ...call, execution: "split" })
    expect((pipe.model.transformer.session as SplitSession).lastRun).toMatchObject({ execution: "split", rows: 2, distinctRows: 1 })
    expect(relativeL2(split.latents, full.latents)).toBeLessThan(1e-6)
    await pipe.release()
  })
})
