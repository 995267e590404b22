import { describe, expect, it } from "vitest"
import { Tensor, readSafetensors } from "@pagkit/tensor"
import { tinyModel, tinyOracle } from "./internal/fixtures.js"
import { Vae, denormalizeImages, normalizeImages } from "./vae.js"
import { ModelInputError } from "./errors.js"

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}

// NCHW -> NHWC (diffusers' pt_to_numpy)
function toNhwc(t: Tensor<"float32">): Float32Array {
  const [n, c, h, w] = t.shape as [number, number, number, number]
  const out = new Float32Array(t.size)
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) out[((b * h + y) * w + x) * c + k] = t.data[((b * c + k) * h + y) * w + x]!
  return out
}

describe("Vae", () => {
  it("decodes an oracle's last latents to the oracle image (max abs ≤ 1e-3)", async () => {
    const vae = await Vae.load(tinyModel("tiny-sdxl"))
    expect(vae.scaleFactor).toBe(2)
    expect(vae.config.scalingFactor).toBeCloseTo(0.13025)
    const oracle = await readSafetensors(tinyOracle("sdxl-t2i-cfg.safetensors"), ["latents.step4", "image"])
    const latents = oracle.get("latents.step4") as Tensor<"float32">
    const image = await vae.decode(latents)
    expect(image.shape).toEqual([1, 3, 64, 64])
    const err = maxAbsDiff(toNhwc(image), oracle.get("image")!.data as Float32Array)
    expect(err).toBeLessThan(1e-3)
  })

  it("scale and unscale are inverse", async () => {
    const vae = await Vae.load(tinyModel("tiny-sdxl"), { encoder: false })
    expect(vae.encoder).toBeUndefined()
    const x = Tensor.fromArray([0.5, -1, 2, 0.25], [1, 4, 1, 1])
    const back = vae.scaleLatents(vae.unscaleLatents(x))
    expect(maxAbsDiff(back.data, x.data)).toBeLessThan(1e-6)
    await expect(vae.encode(Tensor.zeros([1, 3, 8, 8]))).rejects.toBeInstanceOf(ModelInputError)
  })

  it("encodes to a distribution with 4 latent channels at 1/f resolution", async () => {
    const vae = await Vae.load(tinyModel("tiny-sdxl"))
    const images = normalizeImages(new Tensor("float32", new Float32Array(2 * 3 * 16 * 16).fill(0.5), [2, 3, 16, 16]))
    const dist = await vae.encode(images)
    expect(dist.mean.shape).toEqual([2, 4, 8, 8])
    expect(dist.deterministic).toBe(false)
    for (const v of dist.logvar!.data) expect(v).toBeGreaterThanOrEqual(-30)
    expect(Array.from(dist.mode().data)).toEqual(Array.from(dist.mean.data))
  })

  it("denormalize clamps to [0, 1]", () => {
    const t = denormalizeImages(Tensor.fromArray([-3, -1, 0, 1, 3]))
    expect(Array.from(t.data)).toEqual([0, 0, 0.5, 1, 1])
  })
})
