import { readFile } from "node:fs/promises"
import { describe, expect, it } from "vitest"
import { SafetensorsFile, Tensor, relativeL2 } from "@pagkit/tensor"
import type { SessionLike } from "@pagkit/models-core"
import { PixArtModelError } from "./errors.js"
import { sharedTinyPixArt, tinyOracle } from "./internal/fixtures.js"
import { IDENTITY_ATTENTION, PixArtTransformer } from "./pixart-transformer.js"

describe("PixArtTransformer vs diffusers (denoiser-pixart oracle)", () => {
  it("matches the plain and PAG outputs, perturbed rows set by hooks", async () => {
    const model = await sharedTinyPixArt()
    const file = await SafetensorsFile.open(tinyOracle("denoiser-pixart.safetensors"))
    const meta = JSON.parse(await readFile(tinyOracle("denoiser-pixart.json"), "utf8")) as { cases: Record<string, { layers: string[] }> }
    const sample = (await file.read("in.hidden_states")) as Tensor<"float32">
    const encoderHiddenStates = (await file.read("in.encoder_hidden_states")) as Tensor<"float32">
    const encoderAttentionMask = await file.read("in.encoder_attention_mask")
    const timestep = Number((await file.read("in.timestep")).data[0])
    const base = { sample, timestep, encoderHiddenStates, encoderAttentionMask }
    expect(relativeL2(await model.transformer.denoise(base), await file.read("out.plain"))).toBeLessThan(1e-6)
    expect(Object.keys(meta.cases).length).toBeGreaterThan(0)
    for (const [name, c] of Object.entries(meta.cases)) {
      const out = await model.transformer.denoise({ ...base, hooks: [undefined, undefined, { [IDENTITY_ATTENTION]: c.layers }] })
      expect(relativeL2(out, await file.read(`out.cfg.${name}`)), name).toBeLessThan(1e-4)
    }
    await file.close()
  })

  it("reads sizes from the graph and config, and drops learned sigma after guidance", async () => {
    const { transformer } = await sharedTinyPixArt()
    expect(transformer.fixedLatentSize).toEqual([16, 16])
    expect([transformer.inChannels, transformer.outChannels, transformer.sampleSize, transformer.patchSize]).toEqual([4, 8, 16, 2])
    expect(transformer.learnedSigma).toBe(true)
    expect(transformer.selfAttentionLayers).toHaveLength(12)
    const guided = new Tensor("float32", Float32Array.from({ length: 2 * 8 * 4 }, (_, i) => i), [2, 8, 2, 2])
    const eps = transformer.dropLearnedSigma(guided)
    expect(eps.shape).toEqual([2, 4, 2, 2])
    expect(eps.get(1, 3, 1, 1)).toBe(guided.get(1, 3, 1, 1))
  })

  it("names the inputs a PixArt export must have", () => {
    const session: SessionLike = {
      inputs: [
        { name: "hidden_states", dtype: "float32", shape: ["batch", 4, 16, 16] },
        { name: "encoder_hidden_states", dtype: "float32", shape: ["batch", "sequence", 32] },
        { name: "timestep", dtype: "int64", shape: ["batch"] },
      ],
      outputs: [{ name: "out_sample", dtype: "float32", shape: ["batch", 8, 16, 16] }],
      hasInput: () => true,
      run: async () => ({}),
    }
    expect(() => new PixArtTransformer({ session })).toThrow(PixArtModelError)
    expect(() => new PixArtTransformer({ session })).toThrow(/encoder_attention_mask/)
  })
})
