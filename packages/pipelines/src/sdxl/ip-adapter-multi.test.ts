import path from "node:path"
import { describe, expect, it } from "vitest"
import { Tensor, concat, loadImage, relativeL2 } from "@pagkit/tensor"
import { tinyModelPath, tinyModelsDir, tinyOraclesDir } from "@pagkit/tiny-models"
import { AutoPipelineForText2Image } from "../auto-pipeline.js"

const dir = path.join(tinyModelsDir(), "tiny-ip-adapter")
const imageEncoder = path.join(dir, "image_encoder")
const baseWeights = path.join(dir, "ip-adapter_tiny-sdxl.safetensors")
const refImage = path.join(tinyOraclesDir(), "images", "ip-ref-48x40.png")
const run = { prompt: "a polar bear", height: 64, width: 64, numInferenceSteps: 2, seed: 0, passes: "batched" } as const

function bitsEqual(a: Tensor, b: Tensor): boolean {
  return a.data.length === b.data.length && (a.data as Float32Array).every((v, i) => Object.is(v, b.data[i]))
}

describe("IP-Adapter Plus .bin and several IP-Adapters in the SDXL pipeline", () => {
  it("the .bin and the .safetensors of the Plus adapter give bit-identical pipeline outputs (CFG + PAG)", async () => {
    const pipe = await AutoPipelineForText2Image.fromPretrained(tinyModelPath("tiny-sdxl"), { enablePag: true })
    const outputs = []
    for (const file of ["ip-adapter-plus_tiny-sdxl.bin", "ip-adapter-plus_tiny-sdxl.safetensors"]) {
      await pipe.loadIpAdapter({ weights: path.join(dir, file), imageEncoder })
      expect(pipe.ipAdapter!.adapter.variant).toBe("plus")
      pipe.setIpAdapterScale(0.8)
      outputs.push(await pipe.run({ ...run, ipAdapterImage: refImage, guidanceScale: 3, pagScale: 2 }))
    }
    expect(bitsEqual(outputs[0]!.latents, outputs[1]!.latents)).toBe(true)
    pipe.setIpAdapterScale(0) // the adapter does act
    const off = await pipe.run({ ...run, ipAdapterImage: refImage, guidanceScale: 3, pagScale: 2 })
    expect(relativeL2(outputs[0]!.latents, off.latents)).toBeGreaterThan(1e-3)
  })

  it("two copies of an adapter with scales a and b equal a + b on one; images, embeddings and masks per adapter", async () => {
    const pipe = await AutoPipelineForText2Image.fromPretrained(tinyModelPath("tiny-sdxl"), { enablePag: true })
    await pipe.loadIpAdapter({ weights: [baseWeights, baseWeights], imageEncoder })
    expect(pipe.ipAdapter!.adapters).toHaveLength(2)
    expect(pipe.ipAdapter!.adapters[0]!.imageEncoder).toBe(pipe.ipAdapter!.adapters[1]!.imageEncoder) // loaded once
    const call = { ...run, ipAdapterImage: [refImage, refImage], guidanceScale: 3, pagScale: 2 }
    pipe.setIpAdapterScale([0.8, 0])
    const once = await pipe.run(call)
    pipe.setIpAdapterScale([0.3, 0.5])
    const split = await pipe.run(call)
    expect(relativeL2(split.latents, once.latents)).toBeLessThan(1e-5)
    pipe.setIpAdapterScale([0.3, 0])
    const partial = await pipe.run(call)
    expect(relativeL2(partial.latents, once.latents)).toBeGreaterThan(1e-4)

    // precomputed embeddings in diffusers' layout ([negative; positive] with CFG), one per adapter, give the same bits
    pipe.setIpAdapterScale([0.3, 0.5])
    const { positive, negative } = await pipe.ipAdapter!.adapter.prepareImageEmbeds({ image: await loadImage(refImage) })
    const embeds = concat([negative, positive])
    const fromEmbeds = await pipe.run({ ...run, guidanceScale: 3, pagScale: 2, ipAdapterImageEmbeds: [embeds, embeds] })
    expect(bitsEqual(fromEmbeds.latents, split.latents)).toBe(true)

    // masks: all ones = no mask (bits); adapter 1 masked out = adapter 1 at scale 0
    const ones = new Tensor("float32", new Float32Array(64 * 64).fill(1), [1, 1, 64, 64])
    expect(bitsEqual((await pipe.run({ ...call, ipAdapterMasks: [ones, ones] })).latents, split.latents)).toBe(true)
    const black = new Tensor("float32", new Float32Array(3 * 64 * 64), [1, 3, 64, 64]) // an RGB image: preprocessed as a mask
    const masked = await pipe.run({ ...call, ipAdapterMasks: [undefined, black] })
    expect(relativeL2(masked.latents, partial.latents)).toBeLessThan(1e-5)

    // diffusers' rules: one entry per adapter, one scale per adapter
    await expect(pipe.run({ ...run, ipAdapterImage: refImage })).rejects.toThrow(/one entry per loaded IP-Adapter: found 1 for 2/)
    expect(() => pipe.setIpAdapterScale(0.5)).toThrow(/one scale per adapter/)
    await expect(pipe.run({ ...call, ipAdapterMasks: [ones] })).rejects.toThrow(/one mask per loaded IP-Adapter/)
    await expect(pipe.run({ ...call, ipAdapterImage: [[refImage, refImage], refImage], ipAdapterMasks: [ones, undefined] })).rejects.toThrow(
      /2 images and a mask.*once per image/,
    )
  })
})
