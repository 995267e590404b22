import { describe, expect, it } from "vitest"
import { Tensor, TorchGenerator, loadImage, tile } from "@pagkit/tensor"
import { ModelInputError, maskImage, randnTensor } from "@pagkit/models-core"
import { sharedTinySdxl, tinyOracle } from "./internal/fixtures.js"
import { blendInpaintLatents, prepareInpaintLatents } from "./prepare-inpaint-latents.js"

const filled = (shape: number[], value: number): Tensor<"float32"> => {
  const n = shape.reduce((a, b) => a * b, 1)
  return new Tensor("float32", new Float32Array(n).fill(value), shape)
}

describe("blendInpaintLatents", () => {
  const latents = filled([2, 4, 2, 2], 1)
  const imageLatents = filled([2, 4, 2, 2], 3)
  const noise = filled([2, 4, 2, 2], 0)
  const scheduler = { addNoise: (original: Tensor<"float32">) => original }

  it("keeps the denoised latents where the mask is 1 and the image latents where it is 0", () => {
    const mask = new Tensor("float32", Float32Array.from([1, 0, 0, 1, 0, 0, 1, 1]), [2, 1, 2, 2])
    const out = blendInpaintLatents({ latents, imageLatents, noise, mask, nextTimestep: undefined, scheduler })
    expect(Array.from(out.data.subarray(0, 4))).toEqual([1, 3, 3, 1])
    expect(Array.from(out.data.subarray(16, 20))).toEqual([3, 3, 1, 1])
  })

  it("rejects a mask that does not cover every row instead of blending with NaN", () => {
    const oneRowMask = filled([1, 1, 2, 2], 1)
    const run = (): unknown => blendInpaintLatents({ latents, imageLatents, noise, mask: oneRowMask, nextTimestep: 601, scheduler })
    expect(run).toThrow(ModelInputError)
    expect(run).toThrow(/expected mask \[2, 1, 2, 2\]/)
    expect(() =>
      blendInpaintLatents({ latents, imageLatents: filled([1, 4, 2, 2], 3), noise, mask: filled([2, 1, 2, 2], 1), nextTimestep: 601, scheduler }),
    ).toThrow(/image latents float32\[1, 4, 2, 2\]/)
  })
})

describe("prepareInpaintLatents with one generator per image", () => {
  it("encodes the image rows with the first generators, as diffusers' _encode_vae_image does", async () => {
    const model = await sharedTinySdxl()
    const image = await model.preprocessImage(await loadImage(tinyOracle("images/init-64.png"))) // 1 row
    const mask = await model.preprocessMask(await loadImage(tinyOracle("images/mask-64.png")))
    const scheduler = { initNoiseSigma: 1, addNoise: (original: Tensor<"float32">) => original }
    const prepared = await prepareInpaintLatents({
      image, mask, batchSize: 2, height: 64, width: 64, timestep: 601, strength: 0.8, vae: model.vae, scheduler,
      generator: [new TorchGenerator(5), new TorchGenerator(6)],
    })
    // diffusers: image row 0 with generator[0]; noise randn per row; masked image row 0 with generator[0] again
    const g = [new TorchGenerator(5), new TorchGenerator(6)]
    const imageLatents = await model.vae.encodeLatents(image, g[0]!)
    const noise = randnTensor([2, 4, 32, 32], g)
    const maskedImageLatents = await model.vae.encodeLatents(maskImage(image, mask), g[0]!)
    expect(Array.from(prepared.imageLatents!.data)).toEqual(Array.from(tile(imageLatents, [2, 1, 1, 1]).data))
    expect(Array.from(prepared.noise.data)).toEqual(Array.from(noise.data))
    expect(Array.from(prepared.maskedImageLatents!.data)).toEqual(Array.from(tile(maskedImageLatents, [2, 1, 1, 1]).data))
  })
})
