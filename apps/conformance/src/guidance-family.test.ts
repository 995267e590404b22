// Whole-pipeline runs of every guidance-family middleware (with PAG in the same chain) on the tiny SDXL
// and PixArt-Sigma models. The formulas are checked in each package; this checks they run inside real
// pipelines: planned rows reach the model, outputs stay finite and differ from CFG, and APG's momentum
// does not leak from one run into the next.
import { beforeAll, describe, expect, it } from "vitest"
import { guidance } from "@pagkit/guidance"
import type { GuidanceMiddleware } from "@pagkit/guidance"
import { apg } from "@pagkit/guidance-apg"
import { cfg } from "@pagkit/guidance-cfg"
import { cfgZeroStar } from "@pagkit/guidance-cfg-zero-star"
import { fdg } from "@pagkit/guidance-fdg"
import { mambo } from "@pagkit/guidance-mambo"
import { pag } from "@pagkit/guidance-pag"
import { tcfg } from "@pagkit/guidance-tcfg"
import { AutoPipelineForText2Image, PixArtSigmaPipeline } from "@pagkit/pipelines"
import type { Tensor } from "@pagkit/tensor"
import { tinyModelPath } from "@pagkit/tiny-models"

const strategies: Record<string, () => GuidanceMiddleware> = {
  apg: () => apg({ scale: 5, eta: 0, normThreshold: 15, momentum: -0.5 }),
  "cfg-zero-star": () => cfgZeroStar({ scale: 5 }),
  tcfg: () => tcfg({ scale: 5 }),
  fdg: () => fdg({ scales: [7, 4] }),
  mambo: () => mambo({ scale: 5, alpha: 2 }),
}

interface LatentRunner {
  run(middleware: GuidanceMiddleware): Promise<Tensor<"float32">>
}

function check(runner: () => LatentRunner): void {
  let reference: Float32Array
  beforeAll(async () => {
    reference = (await runner().run(cfg({ scale: 5 }))).data
  })
  for (const [name, make] of Object.entries(strategies)) {
    it(`${name} + pag runs, stays finite and differs from cfg + pag`, async () => {
      const latents = await runner().run(make())
      expect(latents.shape).toEqual([1, 4, ...latents.shape.slice(2)])
      expect(latents.data.every(Number.isFinite)).toBe(true)
      expect(latents.data.some((v, i) => v !== reference[i])).toBe(true)
    })
  }
  it("apg with momentum gives the same run twice from one middleware value", async () => {
    const middleware = strategies["apg"]!()
    const first = await runner().run(middleware)
    const second = await runner().run(middleware)
    expect([...second.data]).toEqual([...first.data])
  })
}

describe("guidance family in the tiny SDXL pipeline", () => {
  let pipe: Awaited<ReturnType<typeof AutoPipelineForText2Image.fromPretrained>>
  beforeAll(async () => {
    pipe = await AutoPipelineForText2Image.fromPretrained(tinyModelPath("tiny-sdxl-shapes"), { enablePag: true, pagAppliedLayers: ["mid"] })
  })
  check(() => ({
    run: async (middleware) => {
      const chain = guidance(middleware, pag({ scale: 2, layers: ["mid"] }))
      const out = await pipe.run({ prompt: "a red circle on a white background", guidance: chain, numInferenceSteps: 3, seed: 0, outputType: "latent" })
      return out.latents
    },
  }))
})

describe("guidance family in the tiny PixArt-Sigma pipeline", () => {
  let pipe: Awaited<ReturnType<typeof PixArtSigmaPipeline.fromPretrained>>
  beforeAll(async () => {
    pipe = await PixArtSigmaPipeline.fromPretrained(tinyModelPath("tiny-pixart-sigma"))
  })
  check(() => ({
    run: async (middleware) => {
      const chain = guidance(middleware, pag({ scale: 2, layers: ["blocks.1"] }))
      const out = await pipe.run({ prompt: "a small cactus", guidance: chain, numInferenceSteps: 3, seed: 0, outputType: "latent" })
      return out.latents
    },
  }))
})
