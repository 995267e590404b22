// The worker serves every family, carries guidance chains as JSON, and loads custom plugins from a module.
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { guidance } from "@pagkit/guidance"
import { cfg } from "@pagkit/guidance-cfg"
import { pag } from "@pagkit/guidance-pag"
import { maxAbsDiff } from "@pagkit/tensor"
import { tinyModelPath } from "@pagkit/tiny-models"
import { PixArtSigmaPipeline } from "../pixart/pixart-sigma-pipeline.js"
import { guidance as testCatalogue, hookKinds as testKinds, scaledBlockOnly } from "../internal/test-plugins.js"
import { PipelineWorker } from "./pipeline-worker.js"
import type { WorkerPipelineSpec } from "./protocol.js"

const pixartSpec: WorkerPipelineSpec = { task: "text2image", modelDir: tinyModelPath("tiny-pixart-sigma"), pagAppliedLayers: ["blocks.2"] }
const call = { prompt: "a small cactus", numInferenceSteps: 3, seed: 7 } as const
const plugins = fileURLToPath(new URL("../internal/test-plugins.ts", import.meta.url))
const worker = new PipelineWorker()

afterAll(async () => {
  await worker.close()
})

describe("PipelineWorker across families", () => {
  it("runs PixArt-Sigma off the main thread, equal to the in-thread pipeline, with a chain sent as JSON", async () => {
    const chain = guidance(cfg({ scale: 4.5 }), pag({ scale: 2, layers: ["blocks.2"], window: [0, 0.7] }))
    const pipe = await PixArtSigmaPipeline.fromPretrained(pixartSpec.modelDir, { pagAppliedLayers: ["blocks.2"] })
    const inThread = await pipe.run({ ...call, guidance: chain })
    const steps: number[] = []
    const out = await worker.run({ pipeline: pixartSpec, call: { ...call, guidance: chain } }, { onProgress: (e) => steps.push(e.step) })
    expect(steps).toEqual([0, 1, 2])
    expect(out.className).toBe("PixArtSigmaPAGPipeline")
    expect(maxAbsDiff(out.latents, inThread.latents)).toBe(0)
    const asJson = await worker.run({ pipeline: pixartSpec, call: { ...call, guidance: chain.toJSON() } })
    expect(maxAbsDiff(asJson.latents, inThread.latents)).toBe(0)
    await pipe.release()
  })

  it("names what is wrong in a JSON chain", async () => {
    const bad = { guidance: [{ name: "cfg", scale: 5 }, { name: "pag", scale: 3, layer: ["mid"] }] }
    const error = await worker.run({ pipeline: pixartSpec, call: { ...call, guidance: bad } }).catch((e: unknown) => e)
    expect((error as Error).name).toBe("GuidanceOptionsError") // revived as its own class across the thread
    expect((error as Error).message).toMatch(/entry 1 \("pag"\).*unknown option "layer" \(did you mean "layers"\?\)/)
  })

  it("loads custom hook kinds and strategies from a plugins module, as in-thread", async () => {
    const middleware = scaledBlockOnly({ block: "transformer_blocks.3", factor: 0.5 })
    const withPlugins: WorkerPipelineSpec = { ...pixartSpec, plugins }
    const out = await worker.run({ pipeline: withPlugins, call: { ...call, guidance: guidance(middleware) } })
    const pipe = await PixArtSigmaPipeline.fromPretrained(pixartSpec.modelDir, {
      pagAppliedLayers: ["blocks.2"],
      hookCatalogue: testKinds,
      guidanceCatalogue: testCatalogue,
    })
    const inThread = await pipe.run({ ...call, guidance: guidance(middleware) })
    expect(maxAbsDiff(out.latents, inThread.latents)).toBe(0)
    const without = await worker.run({ pipeline: pixartSpec, call: { ...call, guidance: guidance(middleware) } }).catch((e: unknown) => e)
    expect((without as Error).message).toMatch(/unknown strategy "scaled-block".*registered in the catalogue/)
    await pipe.release()
  })
})
