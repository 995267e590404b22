// Whole diffusers runs rebuilt from the adapter's pieces (a minimal step loop, not the pipelines package):
// noise order, prompt encoding, time ids, img2img / inpaint latents, PAG rows and decoding against the oracles.
import { describe, expect, it } from "vitest"
import { Tensor, TorchGenerator, loadImage, maxAbsDiff, readSafetensors, relativeL2 } from "@pagkit/tensor"
import { postprocessImages } from "@pagkit/models-core"
import { resolveLayers } from "@pagkit/onnx"
import { createScheduler, img2imgTimesteps } from "@pagkit/schedulers"
import type { Scheduler } from "@pagkit/schedulers"
import { sharedTinySdxl, tinyOracle } from "./internal/fixtures.js"
import { blendInpaintLatents } from "./prepare-inpaint-latents.js"
import type { SdxlModel } from "./sdxl-model.js"
import { timeIdsTensor } from "./time-ids.js"

const f32 = Math.fround

interface LoopOptions {
  readonly model: SdxlModel
  readonly scheduler: Scheduler
  readonly timesteps: readonly number[]
  readonly latents: Tensor<"float32">
  readonly prompt: string
  readonly negativePrompt?: string
  readonly guidanceScale: number
  readonly pagScale: number
  readonly pipeline: "text2img" | "img2img"
  /** Called after each step (inpaint blending). */
  readonly afterStep?: (latents: Tensor<"float32">, i: number) => Tensor<"float32">
}

async function denoiseLoop(o: LoopOptions): Promise<Tensor<"float32">[]> {
  const text = await o.model.encodePrompt({ prompt: o.prompt, negativePrompt: o.negativePrompt, doCfg: o.guidanceScale > 1 })
  const { timeIds, negativeTimeIds } = o.model.timeIds({ originalSize: [64, 64], targetSize: [64, 64], pipeline: o.pipeline })
  const layers = o.pagScale > 0 ? resolveLayers(o.model.unet.layerIndex!, ["mid"]).layers : []
  const cond = { encoderHiddenStates: text.promptEmbeds, textEmbeds: text.pooledPromptEmbeds, timeIds: timeIdsTensor([timeIds]) }
  const uncond = {
    encoderHiddenStates: text.negativePromptEmbeds!,
    textEmbeds: text.negativePooledPromptEmbeds!,
    timeIds: timeIdsTensor([negativeTimeIds]),
  }
  const steps: Tensor<"float32">[] = []
  let latents = o.latents
  for (const [i, t] of o.timesteps.entries()) {
    const sample = o.scheduler.scaleModelInput(latents, t)
    const rows = [
      ...(o.guidanceScale > 1 ? [{ ...uncond, sample }] : []),
      { ...cond, sample },
      ...(o.pagScale > 0 ? [{ ...cond, sample, hooks: { "identity-attention": layers } }] : []),
    ]
    const eps = await o.model.unet.denoiseRows(rows, t)
    const size = latents.size
    const guided = latents.data.map((_, k) => {
      let r = 0
      const u = o.guidanceScale > 1 ? eps.data[k]! : 0
      const c = eps.data[(o.guidanceScale > 1 ? 1 : 0) * size + k]!
      r = o.guidanceScale > 1 ? f32(u + f32(o.guidanceScale * f32(c - u))) : c
      if (o.pagScale > 0) r = f32(r + f32(o.pagScale * f32(c - eps.data[(rows.length - 1) * size + k]!)))
      return r
    })
    latents = o.scheduler.step(new Tensor("float32", guided, latents.shape), t, latents).prevSample
    if (o.afterStep !== undefined) latents = o.afterStep(latents, i)
    steps.push(latents)
  }
  return steps
}

async function expectImage(model: SdxlModel, latents: Tensor<"float32">, expected: Tensor): Promise<number> {
  const image = postprocessImages(await model.decode(latents), "np")
  const error = maxAbsDiff(image, expected)
  expect(error).toBeLessThan(1e-3)
  return error
}

describe("whole runs against the pipeline oracles", () => {
  it("sdxl-t2i-cfg (5 Euler steps, CFG 5)", async () => {
    const model = await sharedTinySdxl()
    const oracle = await readSafetensors(tinyOracle("sdxl-t2i-cfg.safetensors"))
    const scheduler = createScheduler(model.schedulerConfig)
    scheduler.setTimesteps(5)
    const latents = model.textToImageLatents({ batchSize: 1, height: 64, width: 64, generator: new TorchGenerator(0), scheduler })
    const steps = await denoiseLoop({
      model, scheduler, timesteps: scheduler.timesteps, latents, prompt: "A painting of a squirrel eating a burger",
      guidanceScale: 5, pagScale: 0, pipeline: "text2img",
    })
    expect(relativeL2(steps[4]!, oracle.get("latents.step4")!)).toBeLessThan(1e-4)
    await expectImage(model, steps[4]!, oracle.get("image")!)
  })

  it("sdxl-i2i-pag-cfg (strength 0.6, CFG 7, PAG 4 on mid)", async () => {
    const model = await sharedTinySdxl()
    const oracle = await readSafetensors(tinyOracle("sdxl-i2i-pag-cfg.safetensors"))
    const scheduler = createScheduler(model.schedulerConfig)
    const { timesteps } = img2imgTimesteps(scheduler, 5, 0.6)
    const image = await model.preprocessImage(await loadImage(tinyOracle("images/init-64.png")))
    const { latents } = await model.imageToImageLatents({
      image, batchSize: 1, timestep: timesteps[0]!, scheduler, generator: new TorchGenerator(0),
    })
    const steps = await denoiseLoop({
      model, scheduler, timesteps, latents, prompt: "a dog catching a frisbee in the jungle",
      guidanceScale: 7, pagScale: 4, pipeline: "img2img",
    })
    expect(steps).toHaveLength(3)
    expect(relativeL2(steps[2]!, oracle.get("latents.step2")!)).toBeLessThan(1e-4)
    await expectImage(model, steps[2]!, oracle.get("image")!)
  })

  it("sdxl-inpaint-pag-cfg (strength 0.8, CFG 7.5, PAG 3; 4-channel UNet blending)", async () => {
    const model = await sharedTinySdxl()
    const oracle = await readSafetensors(tinyOracle("sdxl-inpaint-pag-cfg.safetensors"))
    const scheduler = createScheduler(model.schedulerConfig)
    const { timesteps } = img2imgTimesteps(scheduler, 5, 0.8)
    const image = await model.preprocessImage(await loadImage(tinyOracle("images/init-64.png")))
    const mask = await model.preprocessMask(await loadImage(tinyOracle("images/mask-64.png")))
    const prepared = await model.inpaintLatents({
      image, mask, batchSize: 1, height: 64, width: 64, timestep: timesteps[0]!, strength: 0.8, scheduler,
      generator: new TorchGenerator(1),
    })
    const steps = await denoiseLoop({
      model, scheduler, timesteps, latents: prepared.latents, prompt: "A majestic tiger sitting on a bench",
      guidanceScale: 7.5, pagScale: 3, pipeline: "img2img",
      afterStep: (latents, i) =>
        blendInpaintLatents({
          latents, imageLatents: prepared.imageLatents!, noise: prepared.noise, mask: prepared.mask,
          nextTimestep: timesteps[i + 1], scheduler,
        }),
    })
    expect(steps).toHaveLength(4)
    for (const [k, step] of steps.entries()) {
      expect(relativeL2(step, oracle.get(`latents.step${k}`)!)).toBeLessThan(1e-4)
    }
    await expectImage(model, steps[3]!, oracle.get("image")!)
  })
})
