import path from "node:path"
import { describe, expect, it } from "vitest"
import { maxAbsDiff, readSafetensors, relativeL2 } from "@pagkit/tensor"
import { tinyModelPath, tinyModelsDir, tinyOraclesDir } from "@pagkit/tiny-models"
import { AutoPipelineForImage2Image, AutoPipelineForText2Image } from "../auto-pipeline.js"

const ip = {
  weights: path.join(tinyModelsDir(), "tiny-ip-adapter", "ip-adapter_tiny-sdxl.safetensors"),
  imageEncoder: path.join(tinyModelsDir(), "tiny-ip-adapter", "image_encoder"),
  featureExtractor: path.join(tinyModelsDir(), "tiny-ip-adapter", "feature_extractor"),
}
const refImage = path.join(tinyOraclesDir(), "images", "ip-ref-48x40.png")
const controlImage = path.join(tinyOraclesDir(), "images", "control-edges-64.png")
const base = { prompt: "a polar bear", height: 64, width: 64, numInferenceSteps: 2, seed: 0 } as const

describe("IP-Adapter in the SDXL pipelines", () => {
  it("loads, changes scale, composes with PAG, and unloads back to the plain UNet", async () => {
    const pipe = await AutoPipelineForText2Image.fromPretrained(tinyModelPath("tiny-sdxl"), { enablePag: true })
    const plain = await pipe.run(base)
    await pipe.loadIpAdapter(ip)
    expect(pipe.acceptedOptions.has("ipAdapterImage")).toBe(true)
    await expect(pipe.run(base)).rejects.toThrow(/ipAdapterImage/)
    pipe.setIpAdapterScale(0)
    const scaleZero = await pipe.run({ ...base, ipAdapterImage: refImage })
    expect(maxAbsDiff(scaleZero.latents, plain.latents)).toBeLessThan(1e-5)
    pipe.setIpAdapterScale(0.8)
    const guided = await pipe.run({ ...base, ipAdapterImage: refImage })
    expect(relativeL2(guided.latents, plain.latents)).toBeGreaterThan(1e-3)
    // a pipeline made afterwards shares the adapter and its UNet session
    const img2img = AutoPipelineForImage2Image.fromPipe(pipe)
    expect(img2img.model.unet).toBe(pipe.model.unet)
    await pipe.unloadIpAdapter()
    expect(pipe.acceptedOptions.has("ipAdapterImage")).toBe(false)
    const after = await pipe.run(base)
    expect(maxAbsDiff(after.latents, plain.latents)).toBe(0)
  })
})

describe("ControlNet in the SDXL pipelines", () => {
  it("reproduces diffusers' ControlNet + PAG run and asks for the control image by name", async () => {
    const oracle = await readSafetensors(path.join(tinyOraclesDir(), "sdxl-controlnet-pag-noprompt.safetensors"))
    const pipe = await AutoPipelineForText2Image.fromPretrained(tinyModelPath("tiny-sdxl"), {
      enablePag: true,
      unet: tinyModelPath("variants/unet-controlnet"),
      controlnet: tinyModelPath("tiny-controlnet-sdxl"),
    })
    expect(pipe.className).toBe("StableDiffusionXLControlNetPAGPipeline")
    await expect(pipe.run({ prompt: "", numInferenceSteps: 5, seed: 1 })).rejects.toThrow(/needs image/)
    const out = await pipe.run({
      prompt: "", image: controlImage, numInferenceSteps: 5, guidanceScale: 0, pagScale: 3,
      controlnetConditioningScale: 0.5, seed: 1,
    })
    expect(out.images!.shape).toEqual([1, 3, 64, 64])
    expect(relativeL2(out.latents, oracle.get("latents.step4")!)).toBeLessThan(1e-4)
  })

  it("image-to-image with a ControlNet takes the control image as controlImage", async () => {
    const t2i = await AutoPipelineForText2Image.fromPretrained(tinyModelPath("tiny-sdxl"), {
      enablePag: true,
      unet: tinyModelPath("variants/unet-controlnet"),
      controlnet: tinyModelPath("tiny-controlnet-sdxl"),
    })
    const img2img = AutoPipelineForImage2Image.fromPipe(t2i)
    expect(img2img.className).toBe("StableDiffusionXLControlNetPAGImg2ImgPipeline")
    const init = path.join(tinyOraclesDir(), "images", "init-64.png")
    const run = { prompt: "a dog", image: init, strength: 0.6, numInferenceSteps: 3, seed: 0 }
    const weak = await img2img.run({ ...run, controlImage, controlnetConditioningScale: 0 })
    const strong = await img2img.run({ ...run, controlImage, controlnetConditioningScale: 1 })
    expect(relativeL2(strong.latents, weak.latents)).toBeGreaterThan(1e-4)
    expect(() => AutoPipelineForImage2Image.fromPipe(t2i, { controlnet: [] })).toThrow(/needs a ControlNet/)
  })

  it("refuses a ControlNet for a UNet without residual inputs", async () => {
    const load = AutoPipelineForText2Image.fromPretrained(tinyModelPath("tiny-sdxl"), { controlnet: tinyModelPath("tiny-controlnet-sdxl") })
    await expect(load).rejects.toThrow(/residual/)
  })
})
