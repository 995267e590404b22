import { describe, expect, it } from "vitest"
import { Tensor, TorchGenerator, concat, loadImage, readSafetensors, relativeL2 } from "@pagkit/tensor"
import { postprocessImages, preprocessImage } from "@pagkit/models-core"
import type { Shape } from "@pagkit/tensor"
import { resolveLayers } from "@pagkit/onnx"
import { eulerSigma } from "./internal/euler.js"
import { sharedTinySdxl, tinyOracle } from "./internal/fixtures.js"
import { prepareTextToImageLatents } from "./prepare-latents.js"
import { timeIdsTensor } from "./time-ids.js"

const f32 = Math.fround

/** A generator that records every randn draw, to compare with an oracle's `noise.{i}`. */
function recordingGenerator(seed: number): TorchGenerator & { draws: Tensor<"float32">[] } {
  const generator = new TorchGenerator(seed) as TorchGenerator & { draws: Tensor<"float32">[] }
  const randn = generator.randn.bind(generator)
  generator.draws = []
  generator.randn = ((shape: Shape) => {
    const t = randn(shape)
    generator.draws.push(t)
    return t
  }) as typeof generator.randn
  return generator
}

/** Euler's add_noise: x + noise · sigma(t). */
const eulerAddNoise = {
  initNoiseSigma: 0,
  addNoise(x: Tensor<"float32">, noise: Tensor<"float32">, timesteps: readonly number[]): Tensor<"float32"> {
    const sigma = f32(eulerSigma(timesteps[0]!))
    return new Tensor("float32", x.data.map((v, i) => f32(v + f32(noise.data[i]! * sigma))), x.shape)
  },
}

describe("SDXL adapter against the pipeline oracles", () => {
  it("sdxl-t2i-cfg: noise, prompt encoding, time ids and one UNet step give latents.step0", async () => {
    const model = await sharedTinySdxl()
    const oracle = await readSafetensors(tinyOracle("sdxl-t2i-cfg.safetensors"))
    const generator = recordingGenerator(0)
    const sigma0 = eulerSigma(801)
    const sigma1 = eulerSigma(601)
    const initNoiseSigma = Math.sqrt(sigma0 ** 2 + 1)
    const latents = prepareTextToImageLatents({
      batchSize: 1, height: 64, width: 64, vaeScaleFactor: model.vaeScaleFactor, generator, scheduler: { initNoiseSigma },
    })
    expect(Array.from(generator.draws[0]!.data)).toEqual(Array.from(oracle.get("noise.0")!.data as Float32Array))
    const text = await model.encodePrompt({ prompt: "A painting of a squirrel eating a burger", doCfg: true })
    const { timeIds, negativeTimeIds } = model.timeIds({ originalSize: [64, 64], targetSize: [64, 64] })
    const scaled = new Tensor("float32", latents.data.map((v) => f32(v / Math.sqrt(sigma0 ** 2 + 1))), latents.shape)
    const eps = await model.unet.denoise({
      sample: concat([scaled, scaled], 0),
      timestep: 801,
      encoderHiddenStates: concat([text.negativePromptEmbeds!, text.promptEmbeds], 0),
      textEmbeds: concat([text.negativePooledPromptEmbeds!, text.pooledPromptEmbeds], 0),
      timeIds: timeIdsTensor([negativeTimeIds, timeIds]),
    })
    const size = latents.size
    const next = latents.data.map((x, i) => {
      const u = eps.data[i]!
      const c = eps.data[size + i]!
      const guided = f32(u + f32(5 * f32(c - u)))
      return f32(x + f32(guided * f32(sigma1 - sigma0)))
    })
    const error = relativeL2(new Tensor("float32", next, latents.shape), oracle.get("latents.step0")!)
    expect(error).toBeLessThan(1e-4)
    // and the VAE turns the last latents into the oracle image
    const image = postprocessImages(await model.decode(oracle.get("latents.step4") as Tensor<"float32">), "np")
    expect(relativeL2(image, oracle.get("image")!)).toBeLessThan(1e-5)
  })

  it("sdxl-t2i-pag-cfg-mid: [uncond, cond, perturbed] rows with identity attention on the mid block give latents.step0", async () => {
    const model = await sharedTinySdxl()
    expect(model.unet.hookKinds).toEqual(["identity-attention"])
    const oracle = await readSafetensors(tinyOracle("sdxl-t2i-pag-cfg-mid.safetensors"))
    const { layers } = resolveLayers(model.unet.layerIndex!, ["mid"])
    const sigma0 = eulerSigma(801)
    const sigma1 = eulerSigma(601)
    const latents = prepareTextToImageLatents({
      batchSize: 1, height: 64, width: 64, vaeScaleFactor: 2, generator: new TorchGenerator(0),
      scheduler: { initNoiseSigma: Math.sqrt(sigma0 ** 2 + 1) },
    })
    const text = await model.encodePrompt({ prompt: "A painting of a squirrel eating a burger", doCfg: true })
    const { timeIds, negativeTimeIds } = model.timeIds({ originalSize: [64, 64], targetSize: [64, 64] })
    const scaled = new Tensor("float32", latents.data.map((v) => f32(v / Math.sqrt(sigma0 ** 2 + 1))), latents.shape)
    const eps = await model.unet.denoiseRows(
      [
        { sample: scaled, encoderHiddenStates: text.negativePromptEmbeds!, textEmbeds: text.negativePooledPromptEmbeds!, timeIds: timeIdsTensor([negativeTimeIds]) },
        { sample: scaled, encoderHiddenStates: text.promptEmbeds, textEmbeds: text.pooledPromptEmbeds, timeIds: timeIdsTensor([timeIds]) },
        {
          sample: scaled, encoderHiddenStates: text.promptEmbeds, textEmbeds: text.pooledPromptEmbeds, timeIds: timeIdsTensor([timeIds]),
          hooks: { "identity-attention": layers },
        },
      ],
      801,
    )
    const size = latents.size
    const next = latents.data.map((x, i) => {
      const u = eps.data[i]!
      const c = eps.data[size + i]!
      const p = eps.data[2 * size + i]!
      const guided = f32(f32(u + f32(5 * f32(c - u))) + f32(3 * f32(c - p)))
      return f32(x + f32(guided * f32(sigma1 - sigma0)))
    })
    expect(relativeL2(new Tensor("float32", next, latents.shape), oracle.get("latents.step0")!)).toBeLessThan(1e-4)
  })

  it("sdxl-i2i-pag-cfg: the two noise draws come in diffusers' order", async () => {
    const model = await sharedTinySdxl()
    const oracle = await readSafetensors(tinyOracle("sdxl-i2i-pag-cfg.safetensors"))
    const image = await preprocessImage(await loadImage(tinyOracle("images/init-64.png")), { vaeScaleFactor: 2 })
    expect(image.shape).toEqual([1, 3, 64, 64])
    const generator = recordingGenerator(0)
    const result = await model.imageToImageLatents({ image, batchSize: 1, timestep: 401, scheduler: eulerAddNoise, generator })
    expect(generator.draws).toHaveLength(2)
    for (const i of [0, 1]) {
      expect(Array.from(generator.draws[i]!.data)).toEqual(Array.from(oracle.get(`noise.${i}`)!.data as Float32Array))
    }
    expect(result.latents.shape).toEqual([1, 4, 32, 32])
    expect(Array.from(result.noise!.data)).toEqual(Array.from(oracle.get("noise.1")!.data as Float32Array))
  })

  it("sdxl-inpaint-pag-cfg: image draw, noise, masked-image draw; mask at latent size", async () => {
    const model = await sharedTinySdxl()
    const oracle = await readSafetensors(tinyOracle("sdxl-inpaint-pag-cfg.safetensors"))
    const image = await model.preprocessImage(await loadImage(tinyOracle("images/init-64.png")))
    const mask = await model.preprocessMask(await loadImage(tinyOracle("images/mask-64.png")))
    expect(new Set(mask.data)).toEqual(new Set([0, 1]))
    const generator = recordingGenerator(1)
    const result = await model.inpaintLatents({
      image, mask, batchSize: 1, height: 64, width: 64, timestep: 601, strength: 0.8, scheduler: eulerAddNoise, generator,
    })
    expect(generator.draws).toHaveLength(3)
    for (const i of [0, 1, 2]) {
      expect(Array.from(generator.draws[i]!.data)).toEqual(Array.from(oracle.get(`noise.${i}`)!.data as Float32Array))
    }
    expect(result.mask.shape).toEqual([1, 1, 32, 32])
    expect(result.maskedImageLatents!.shape).toEqual([1, 4, 32, 32])
    expect(Array.from(result.noise.data)).toEqual(Array.from(oracle.get("noise.1")!.data as Float32Array))
  })
})
