import path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { readSafetensors, relativeL2, maxAbsDiff, permute } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { tinyModelPath, tinyOraclesDir } from "@pagkit/tiny-models"
import { AutoPipelineForImage2Image, AutoPipelineForInpainting, AutoPipelineForText2Image } from "../auto-pipeline.js"
import { AbortedError, InvalidOptionError, PipelineError } from "../errors.js"
import type { SdxlText2ImagePipeline } from "./text2image.js"

const prompt = "A painting of a squirrel eating a burger"
const small = { prompt, height: 64, width: 64, numInferenceSteps: 3, seed: 0 } as const

let pag: SdxlText2ImagePipeline

beforeAll(async () => {
  pag = await AutoPipelineForText2Image.fromPretrained(tinyModelPath("tiny-sdxl"), { enablePag: true, pagAppliedLayers: ["mid"] })
})

describe("SDXL pipelines on tiny-sdxl", () => {
  it("text-to-image with CFG + PAG reproduces diffusers' latents and image (sdxl-t2i-pag-cfg-mid)", async () => {
    const oracle = await readSafetensors(path.join(tinyOraclesDir(), "sdxl-t2i-pag-cfg-mid.safetensors"))
    const steps: Tensor[] = []
    const out = await pag.run({ prompt, height: 64, width: 64, numInferenceSteps: 5, guidanceScale: 5, pagScale: 3, seed: 0, onStep: (e) => void steps.push(e.latents) })
    expect(pag.className).toBe("StableDiffusionXLPAGPipeline")
    expect(steps).toHaveLength(5)
    for (let k = 0; k < 5; k++) expect(relativeL2(steps[k]!, oracle.get(`latents.step${k}`)!)).toBeLessThan(1e-4)
    expect(maxAbsDiff(permute(out.images!, [0, 2, 3, 1]), oracle.get("image")!)).toBeLessThan(1e-4)
  })

  it("changes PAG layers without reloading: same result as a pipeline loaded with those layers", async () => {
    const mid = await pag.run(small)
    pag.setPagAppliedLayers(["down.block_2"]) // the PAG guide's structured syntax
    expect(pag.pagLayersResolved).toHaveLength(4)
    const down = await pag.run(small)
    expect(down.warnings.join("\n")).toMatch(/down\.block_2.*structured syntax/)
    const fresh = await AutoPipelineForText2Image.fromPretrained(tinyModelPath("tiny-sdxl"), { enablePag: true, pagAppliedLayers: ["down_blocks.2"] })
    const reference = await fresh.run(small)
    pag.setPagAppliedLayers(["mid"])
    expect((await pag.run(small)).warnings).toEqual([]) // notes belong to the run that used the patterns
    expect(maxAbsDiff(down.latents, reference.latents)).toBe(0)
    expect(maxAbsDiff(down.latents, mid.latents)).toBeGreaterThan(1e-3)
  })

  it("separate passes give the batched result", async () => {
    const batched = await pag.run(small)
    const separate = await pag.run({ ...small, passes: "separate" })
    expect(maxAbsDiff(batched.latents, separate.latents)).toBeLessThan(1e-5)
  })

  it("fromPipe shares the model and every session across tasks; PAG can be switched off", async () => {
    const img2img = AutoPipelineForImage2Image.fromPipe(pag)
    const inpaint = AutoPipelineForInpainting.fromPipe(pag, { enablePag: true })
    const plain = AutoPipelineForText2Image.fromPipe(pag, { enablePag: false })
    expect(img2img.model).toBe(pag.model)
    expect(inpaint.model.unet.session).toBe(pag.model.unet.session)
    expect(img2img.className).toBe("StableDiffusionXLPAGImg2ImgPipeline")
    expect(inpaint.className).toBe("StableDiffusionXLPAGInpaintPipeline")
    expect(plain.className).toBe("StableDiffusionXLPipeline")
    const cfgOnly = await plain.run(small)
    const pagZero = await pag.run({ ...small, pagScale: 0 })
    expect(maxAbsDiff(cfgOnly.latents, pagZero.latents)).toBe(0)
  })

  it("several images per prompt come out chunk-major, one latent draw for the batch", async () => {
    const out = await pag.run({ ...small, prompt: [prompt, "a red circle"], numImagesPerPrompt: 2 })
    expect(out.images!.shape).toEqual([4, 3, 64, 64])
  })

  it("stops between steps when aborted", async () => {
    const controller = new AbortController()
    const run = pag.run({ ...small, signal: controller.signal, onStep: () => controller.abort() })
    await expect(run).rejects.toBeInstanceOf(AbortedError)
  })

  it("rejects bad input with errors that say what to do", async () => {
    await expect(pag.run({ ...small, numInferenceStep: 3 } as never)).rejects.toThrow(/does not take "numInferenceStep"/)
    await expect(pag.run({ ...small, height: 60 })).rejects.toThrow(/height 60 is not a multiple of 8; use 56 or 64/)
    const plain = AutoPipelineForText2Image.fromPipe(pag, { enablePag: false })
    await expect(plain.run({ ...small, pagScale: 3 })).rejects.toThrow(InvalidOptionError)
    const img2img = AutoPipelineForImage2Image.fromPipe(pag)
    const image = path.join(tinyOraclesDir(), "images", "init-64.png")
    await expect(img2img.run({ ...small, image, strength: 1.5 })).rejects.toThrow(/strength/)
    expect(() => pag.setPagAppliedLayers(["middle"])).toThrow(/middle/)
    await expect(AutoPipelineForText2Image.fromPretrained(path.join(tinyOraclesDir(), "nope"))).rejects.toThrow(/nope/)
    expect(() => plain.setIpAdapterScale(0.5)).toThrow(PipelineError) // no IP-Adapter loaded
  })
})

describe("DiffusionPipeline", () => {
  it("loads the pipeline a folder holds and points SDXL loaders away from other folders", async () => {
    const { DiffusionPipeline } = await import("../diffusion-pipeline.js")
    const { PixArtSigmaPipeline } = await import("../pixart/pixart-sigma-pipeline.js")
    const pixart = await DiffusionPipeline.fromPretrained(tinyModelPath("tiny-pixart-sigma"))
    expect(pixart).toBeInstanceOf(PixArtSigmaPipeline)
    await expect(AutoPipelineForText2Image.fromPretrained(tinyModelPath("tiny-pixart-sigma"))).rejects.toThrow(/PixArtSigmaPipeline, not an SDXL pipeline/)
  })
})

describe("inpainting and scheduler options", () => {
  it("paddingMaskCrop repaints a crop around the mask and keeps the rest of the image", async () => {
    const inpaint = AutoPipelineForInpainting.fromPipe(pag)
    const image = path.join(tinyOraclesDir(), "images", "init-64.png")
    const maskImage = path.join(tinyOraclesDir(), "images", "mask-64.png")
    const { loadImage, loadImageGray } = await import("@pagkit/tensor")
    const out = await inpaint.run({ prompt, image, maskImage, strength: 0.8, numInferenceSteps: 2, seed: 1, paddingMaskCrop: 4 })
    const original = await loadImage(image)
    const mask = await loadImageGray(maskImage)
    expect(out.images!.shape).toEqual(original.shape)
    let outsideMax = 0
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 64 * 64; i++) {
        if (mask.data[i]! === 0) outsideMax = Math.max(outsideMax, Math.abs(out.images!.data[c * 4096 + i]! - original.data[c * 4096 + i]!))
      }
    }
    expect(outsideMax).toBeLessThan(2 / 255)
  })

  it("passes eta to DDIM: eta 1 draws noise and changes the result", async () => {
    const ddim = AutoPipelineForText2Image.fromPipe(pag)
    ddim.setScheduler("DDIMScheduler")
    const deterministic = await ddim.run({ ...small, eta: 0 })
    const stochastic = await ddim.run({ ...small, eta: 1 })
    expect(relativeL2(stochastic.latents, deterministic.latents)).toBeGreaterThan(1e-3)
    expect(() => ddim.setScheduler("NoSuchScheduler")).toThrow(/EulerDiscreteScheduler/)
  })
})
