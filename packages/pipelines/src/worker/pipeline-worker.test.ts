import { readFileSync } from "node:fs"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ModelFolderError } from "@pagkit/models-core"
import { LayerPatternError } from "@pagkit/onnx"
import { maxAbsDiff, readSafetensors, relativeL2 } from "@pagkit/tensor"
import { tinyModelPath, tinyOraclesDir } from "@pagkit/tiny-models"
import { AutoPipelineForImage2Image, AutoPipelineForText2Image } from "../auto-pipeline.js"
import type { SdxlText2ImagePipeline } from "../sdxl/text2image.js"
import { AbortedError, InvalidOptionError } from "../errors.js"
import type { PipelineOutput } from "../output.js"
import { PipelineWorker, runInWorker } from "./pipeline-worker.js"
import type { WorkerPipelineSpec, WorkerProgressEvent } from "./protocol.js"
import { WorkerClosedError, WorkerFailedError } from "./remote-error.js"

const spec: WorkerPipelineSpec = { task: "text2image", modelDir: tinyModelPath("tiny-sdxl"), enablePag: true, pagAppliedLayers: ["mid"] }
const controlnetSpec: WorkerPipelineSpec = { ...spec, unet: tinyModelPath("variants/unet-controlnet"), controlnet: tinyModelPath("tiny-controlnet-sdxl") }
const controlImage = path.join(tinyOraclesDir(), "images", "control-edges-64.png")
const call = { prompt: "A painting of a squirrel eating a burger", height: 64, width: 64, numInferenceSteps: 3, guidanceScale: 5, pagScale: 3, seed: 0 } as const

let worker: PipelineWorker
let pipe: SdxlText2ImagePipeline
let inThread: PipelineOutput
let inThreadLayerError: Error

beforeAll(async () => {
  worker = new PipelineWorker()
  pipe = await AutoPipelineForText2Image.fromPretrained(spec.modelDir, { enablePag: true, pagAppliedLayers: ["mid"] })
  inThread = await pipe.run(call)
  inThreadLayerError = (() => {
    try {
      pipe.setPagAppliedLayers(["middle_block"])
    } catch (error) {
      return error as Error
    }
    throw new Error("expected setPagAppliedLayers to reject middle_block")
  })()
})

afterAll(async () => {
  await worker.close()
})

describe("PipelineWorker on tiny-sdxl", () => {
  it("gives exactly the in-thread result, with progress events in order", async () => {
    const events: WorkerProgressEvent[] = []
    const out = await worker.run({ pipeline: spec, call }, { onProgress: (e) => events.push(e) })
    expect(events.map((e) => e.step)).toEqual([0, 1, 2])
    expect(events.every((e) => e.numSteps === 3)).toBe(true)
    expect(events.map((e) => e.timestep)).toEqual([...events.map((e) => e.timestep)].sort((a, b) => b - a))
    expect(out.images!.shape).toEqual([1, 3, 64, 64])
    expect(maxAbsDiff(out.images!, inThread.images!)).toBe(0)
    expect(maxAbsDiff(out.latents, inThread.latents)).toBe(0)
    expect(out.seed).toBe(0)
    expect(out.warnings).toEqual(inThread.warnings)
    expect(out.className).toBe("StableDiffusionXLPAGPipeline")
    expect(out.timings.loadMs).toBeGreaterThan(0) // the first run loads the model
    expect(out.timings.runMs).toBeGreaterThan(0)
  })

  it("switches task over the loaded model and takes images as encoded bytes", async () => {
    const file = path.join(tinyOraclesDir(), "images", "init-64.png")
    const img2img = { prompt: call.prompt, numInferenceSteps: 4, strength: 0.5, pagScale: 3, seed: 0 }
    const expected = await AutoPipelineForImage2Image.fromPipe(pipe).run({ ...img2img, image: file })
    const out = await worker.run({ pipeline: { ...spec, task: "image2image" }, call: { ...img2img, image: new Uint8Array(readFileSync(file)) } })
    expect(out.className).toBe("StableDiffusionXLPAGImg2ImgPipeline")
    expect(out.timings.loadMs).toBe(0)
    expect(maxAbsDiff(out.images!, expected.images!)).toBe(0)
  })

  it("keeps the main thread's event loop responsive during a 10-step run", async () => {
    let ticks = 0
    const timer = setInterval(() => ticks++, 5)
    const started = Date.now()
    await worker.run({ pipeline: spec, call: { ...call, numInferenceSteps: 10 } })
    clearInterval(timer)
    const elapsed = Date.now() - started
    // A free loop ticks about elapsed / 5 times; running the UNet on this thread gives well under elapsed / 100.
    expect(ticks).toBeGreaterThan(elapsed / 25)
  })

  it("stops after the current step on abort and rejects with AbortedError", async () => {
    const controller = new AbortController()
    const steps: number[] = []
    const run = worker.run(
      { pipeline: spec, call: { ...call, numInferenceSteps: 10 } },
      { signal: controller.signal, onProgress: (e) => (steps.push(e.step), controller.abort()) },
    )
    await expect(run).rejects.toBeInstanceOf(AbortedError)
    await expect(run).rejects.toMatchObject({ name: "AbortedError", code: "ABORTED", message: expect.stringMatching(/aborted after step [1-9]\d* of 10/) })
    expect(steps.length).toBeGreaterThanOrEqual(1)
    expect(steps.length).toBeLessThan(10)
    // The worker serves the next run as usual.
    const again = await worker.run({ pipeline: spec, call })
    expect(maxAbsDiff(again.latents, inThread.latents)).toBe(0)
    expect(again.timings.loadMs).toBe(0) // the loaded pipeline was kept
  })

  it("rejects at once when the signal is already aborted", async () => {
    const controller = new AbortController()
    controller.abort()
    await expect(worker.run({ pipeline: spec, call }, { signal: controller.signal })).rejects.toBeInstanceOf(AbortedError)
  })

  it("sends errors back with their name, code and message", async () => {
    const bad = worker.run({ pipeline: { ...spec, pagAppliedLayers: ["middle_block"] }, call })
    await expect(bad).rejects.toBeInstanceOf(LayerPatternError) // the same class as in-thread (issue 16, item 7)
    await expect(bad).rejects.toMatchObject({ name: "LayerPatternError", code: "ONNX_LAYER_PATTERN", message: inThreadLayerError.message })
    expect(inThreadLayerError.message).toMatch(/middle_block[\s\S]*mid_block\.attentions\.0/)
    const typo = worker.run({ pipeline: spec, call: { ...call, numInferenceStep: 3 } as never })
    await expect(typo).rejects.toBeInstanceOf(InvalidOptionError)
    await expect(typo).rejects.toThrow(/does not take "numInferenceStep"/)
    await expect(worker.run({ pipeline: spec, call: { ...call, onStep: () => {} } as never })).rejects.toThrow(/"onStep" cannot be sent/)
  })

  it("runs a one-off call in its own thread, which reports errors from loading too", async () => {
    const missing = runInWorker({ pipeline: { ...spec, modelDir: `${spec.modelDir}-missing` }, call })
    await expect(missing).rejects.toBeInstanceOf(ModelFolderError)
    await expect(missing).rejects.toMatchObject({ name: "ModelFolderError", code: "MODEL_FOLDER_MISSING", message: expect.stringContaining("tiny-sdxl-missing") })
  })

  it("rejects with the error of a throwing onProgress, cancelling the run", async () => {
    const run = worker.run({ pipeline: spec, call: { ...call, numInferenceSteps: 10 } }, { onProgress: () => {
      throw new RangeError("progress callback failed")
    } })
    await expect(run).rejects.toThrow(RangeError)
  })

  it("loads another model for a ControlNet description and reproduces diffusers' run", async () => {
    const oracle = await readSafetensors(path.join(tinyOraclesDir(), "sdxl-controlnet-pag-noprompt.safetensors"))
    const out = await worker.run({
      pipeline: controlnetSpec,
      call: {
        prompt: "", image: controlImage, numInferenceSteps: 5,
        guidanceScale: 0, pagScale: 3, controlnetConditioningScale: 0.5, seed: 1,
      },
    })
    expect(out.className).toBe("StableDiffusionXLControlNetPAGPipeline")
    expect(out.timings.loadMs).toBeGreaterThan(0)
    expect(relativeL2(out.latents, oracle.get("latents.step4")!)).toBeLessThan(1e-4)
  })

  it("close() during a run rejects it, and later runs are refused", async () => {
    const longCall = { ...call, image: controlImage, numInferenceSteps: 10 }
    const run = worker.run({ pipeline: controlnetSpec, call: longCall }, { onProgress: () => void worker.close() })
    await expect(run).rejects.toBeInstanceOf(WorkerFailedError)
    await expect(worker.run({ pipeline: spec, call })).rejects.toBeInstanceOf(WorkerClosedError)
  })
})
