import { describe, expect, it } from "vitest"
import { Tensor } from "@pagkit/tensor"
import { ModelConfigError } from "./errors.js"
import type { SessionLike } from "./session.js"
import { Vae } from "./vae.js"
import { parseVaeConfig, vaeScaleFactor } from "./vae-config.js"

const noSession: SessionLike = { inputs: [], outputs: [], hasInput: () => false, run: async () => ({}) }

describe("VAE config", () => {
  it("fills diffusers' AutoencoderKL defaults and computes the scale factor", () => {
    const config = parseVaeConfig({ block_out_channels: [128, 256, 512, 512] })
    expect(config.scalingFactor).toBe(0.18215)
    expect(config.latentChannels).toBe(4)
    expect(config.shiftFactor).toBeUndefined()
    expect(vaeScaleFactor(config)).toBe(8)
    expect(() => parseVaeConfig({ scaling_factor: "x" })).toThrow(ModelConfigError)
    expect(() => parseVaeConfig({ latents_mean: [1, 2] })).toThrow(/one per latent channel/)
  })

  it("scales with latents_mean / latents_std like diffusers (x − mean)·sf/std and back", () => {
    const vae = new Vae({
      decoder: noSession,
      config: parseVaeConfig({ scaling_factor: 0.5, latents_mean: [1, 0, 0, 0], latents_std: [2, 1, 1, 1] }),
    })
    const raw = Tensor.fromArray([3, 3, 3, 3], [1, 4, 1, 1])
    const scaled = vae.scaleLatents(raw)
    expect(Array.from(scaled.data)).toEqual([0.5, 1.5, 1.5, 1.5])
    expect(Array.from(vae.unscaleLatents(scaled).data)).toEqual([3, 3, 3, 3])
  })

  it("applies shift_factor when set (SD3-style VAEs)", () => {
    const vae = new Vae({ decoder: noSession, config: parseVaeConfig({ scaling_factor: 2, shift_factor: 1 }) })
    const scaled = vae.scaleLatents(Tensor.fromArray([3, 1, 0, 5], [1, 4, 1, 1]))
    expect(Array.from(scaled.data)).toEqual([4, 0, -2, 8])
    expect(Array.from(vae.unscaleLatents(scaled).data)).toEqual([3, 1, 0, 5])
  })
})
