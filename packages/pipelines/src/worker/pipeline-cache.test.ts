import { afterAll, describe, expect, it, vi } from "vitest"
import path from "node:path"
import { tinyModelPath, tinyModelsDir } from "@pagkit/tiny-models"
import { PipelineCache } from "./pipeline-cache.js"
import type { WorkerPipelineSpec } from "./protocol.js"
import type { AnySdxlPipeline } from "../auto-pipeline.js"

const spec: WorkerPipelineSpec = { task: "text2image", modelDir: tinyModelPath("tiny-sdxl"), enablePag: true, pagAppliedLayers: ["mid"] }
const cache = new PipelineCache()
const get = async (s: WorkerPipelineSpec): Promise<AnySdxlPipeline> => (await cache.get(s)) as AnySdxlPipeline

afterAll(async () => {
  await cache.release()
})

describe("PipelineCache", () => {
  it("keeps the pipeline for an equal description and rebuilds over the same model for another task or PAG setting", async () => {
    const first = await get(spec)
    expect(first.className).toBe("StableDiffusionXLPAGPipeline")
    expect(await get({ pagAppliedLayers: ["mid"], enablePag: true, modelDir: spec.modelDir, task: "text2image" })).toBe(first)
    const inpaint = await get({ ...spec, task: "inpainting", pagAppliedLayers: ["down.block_2"] })
    expect(inpaint.className).toBe("StableDiffusionXLPAGInpaintPipeline")
    expect(inpaint.model).toBe(first.model)
    expect(inpaint.pagLayersResolved).toHaveLength(4)
    const plain = await get({ ...spec, enablePag: false, scheduler: "DPMSolverMultistepScheduler" })
    expect(plain.className).toBe("StableDiffusionXLPipeline")
    expect(plain.schedulerConfig._class_name).toBe("DPMSolverMultistepScheduler")
    expect(plain.model).toBe(first.model)
    expect(cache.loads).toBe(1)
  })

  it("keeps the current pipeline when a description is invalid", async () => {
    const current = await get(spec)
    await expect(get({ ...spec, pagAppliedLayers: ["middle_block"] })).rejects.toThrow(/middle_block/)
    expect(await get(spec)).toBe(current)
    expect(cache.loads).toBe(1)
  })

  it("releases the loaded model before loading another folder", async () => {
    const release = vi.spyOn((await get(spec)).model, "release")
    await expect(get({ ...spec, modelDir: `${spec.modelDir}-missing` })).rejects.toThrow(/tiny-sdxl-missing/)
    expect(release).toHaveBeenCalledTimes(1)
    expect(cache.loads).toBe(1)
  })

  it("loads an IP-Adapter with the model and shares it with pipelines rebuilt for other tasks", async () => {
    const adapterDir = path.join(tinyModelsDir(), "tiny-ip-adapter")
    const ipAdapter = {
      weights: path.join(adapterDir, "ip-adapter_tiny-sdxl.safetensors"),
      imageEncoder: path.join(adapterDir, "image_encoder"),
      featureExtractor: path.join(adapterDir, "feature_extractor"),
    }
    const withAdapter = await get({ ...spec, ipAdapter, ipAdapterScale: 0.5 })
    expect(withAdapter.ipAdapter).toBeDefined()
    expect(withAdapter.acceptedOptions.has("ipAdapterImage")).toBe(true)
    const img2img = await get({ ...spec, task: "image2image", ipAdapter, ipAdapterScale: 0.8 })
    expect(img2img.ipAdapter).toBe(withAdapter.ipAdapter)
    expect(img2img.model.unet).toBe(withAdapter.model.unet)
    expect(cache.loads).toBe(2)
    // a list of weights loads several adapters; the default scale is 1 for each
    const two = await get({ ...spec, ipAdapter: { ...ipAdapter, weights: [ipAdapter.weights, ipAdapter.weights] } })
    expect(two.ipAdapter!.adapters).toHaveLength(2)
    expect(two.ipAdapter!.unet.scales.map((t) => t.data[0])).toEqual([1, 1])
  })
})
