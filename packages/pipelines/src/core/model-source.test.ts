// Model ids: a pipeline loads from a (mock, loopback) hub into the Hugging Face cache, and runs exactly as from the folder.
import { mkdtempSync, rmSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { folderFiles, startMockHub } from "@pagkit/hub/testing"
import type { MockHub } from "@pagkit/hub/testing"
import { maxAbsDiff } from "@pagkit/tensor"
import { tinyModelPath } from "@pagkit/tiny-models"
import { AutoPipelineForText2Image } from "../auto-pipeline.js"
import { DiffusionPipeline } from "../diffusion-pipeline.js"
import type { PixArtSigmaPipeline } from "../pixart/pixart-sigma-pipeline.js"

let hub: MockHub
let cacheDir: string
const saved = process.env["HF_ENDPOINT"]
beforeAll(async () => {
  hub = await startMockHub({
    "pagkit/tiny-sdxl": folderFiles(tinyModelPath("tiny-sdxl")),
    "pagkit/tiny-pixart-sigma": folderFiles(tinyModelPath("tiny-pixart-sigma")),
  })
  process.env["HF_ENDPOINT"] = hub.url
  cacheDir = mkdtempSync(path.join(os.tmpdir(), "pagkit-hub-cache-"))
})
afterAll(async () => {
  if (saved === undefined) delete process.env["HF_ENDPOINT"]
  else process.env["HF_ENDPOINT"] = saved
  await hub.close()
  rmSync(cacheDir, { recursive: true, force: true })
})

describe("fromPretrained with a model id", () => {
  it("SDXL: downloads into the cache, then runs exactly as the local folder", async () => {
    const events: string[] = []
    const call = { prompt: "a red circle", numInferenceSteps: 2, seed: 4, height: 64, width: 64, outputType: "latent" as const }
    const fromHub = await AutoPipelineForText2Image.fromPretrained("pagkit/tiny-sdxl", { cacheDir, enablePag: true, onDownloadProgress: (e) => events.push(e.source) })
    expect(events).toContain("download")
    const local = await AutoPipelineForText2Image.fromPretrained(tinyModelPath("tiny-sdxl"), { enablePag: true })
    expect(maxAbsDiff((await fromHub.run(call)).latents, (await local.run(call)).latents)).toBe(0)
    const offline = await AutoPipelineForText2Image.fromPretrained("pagkit/tiny-sdxl", { cacheDir, offline: true })
    expect(offline.className).toBe("StableDiffusionXLPipeline")
    await Promise.all([fromHub.model.release(), local.model.release(), offline.model.release()])
  })

  it("dispatches a hub id by its model_index.json, and names a missing repository", async () => {
    const pixart = (await DiffusionPipeline.fromPretrained("pagkit/tiny-pixart-sigma", { cacheDir })) as PixArtSigmaPipeline
    expect(pixart.className).toBe("PixArtSigmaPAGPipeline")
    await pixart.release()
    await expect(DiffusionPipeline.fromPretrained("pagkit/no-such-model", { cacheDir })).rejects.toThrow(/no-such-model/)
  })
})
