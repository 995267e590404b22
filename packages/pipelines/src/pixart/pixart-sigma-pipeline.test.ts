import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SafetensorsFile, Tensor, TorchGenerator, maxAbsDiff, permute, relativeL2, sub } from "@pagkit/tensor"
import type { RandomDType, RandomOptions, Shape } from "@pagkit/tensor"
import { guidance } from "@pagkit/guidance"
import { cfg } from "@pagkit/guidance-cfg"
import { pag } from "@pagkit/guidance-pag"
import { PixArtSizeError } from "@pagkit/models-pixart-sigma"
import type { PixArtDenoiseInput } from "@pagkit/models-pixart-sigma"
import { AbortedError } from "../errors.js"
import { pixartCallFromDiffusers } from "./diffusers-call.js"
import { PixArtSigmaPipeline } from "./pixart-sigma-pipeline.js"

const MODEL = fileURLToPath(new URL("../../../tiny-models/models/tiny-pixart-sigma", import.meta.url))
const ORACLE = fileURLToPath(new URL("../../../tiny-models/oracles/pixart-sigma-pag-cfg", import.meta.url))
const PROMPT = "a small cactus with a happy face in the Sahara desert"

/** Keeps every randn draw (what the conformance kind does). */
class RecordingGenerator extends TorchGenerator {
  readonly draws: Tensor[] = []
  override randn<D extends RandomDType = "float32">(shape: Shape, options?: RandomOptions<D>): Tensor<D> {
    const draw = super.randn(shape, options)
    this.draws.push(draw)
    return draw
  }
}

let pipe: PixArtSigmaPipeline
/** Batch sizes of the transformer calls since the last reset. */
let callRows: number[] = []

beforeAll(async () => {
  pipe = await PixArtSigmaPipeline.fromPretrained(MODEL)
  const transformer = pipe.model.transformer
  const denoise = transformer.denoise.bind(transformer)
  transformer.denoise = (input: PixArtDenoiseInput) => {
    callRows.push(input.sample.shape[0]!)
    return denoise(input)
  }
})
afterAll(async () => {
  await pipe?.release()
})

async function oneStep(guidanceScale: number, pagScale: number): Promise<{ latents: Tensor<"float32">; rows: number[] }> {
  callRows = []
  const out = await pipe.run({ prompt: PROMPT, numInferenceSteps: 1, seed: 3, guidanceScale, pagScale })
  return { latents: out.latents, rows: callRows }
}

describe("PixArtSigmaPipeline vs diffusers", () => {
  it("reproduces pixart-sigma-pag-cfg: noise, latents after every step, image, resolved layers", async () => {
    const meta = JSON.parse(await readFile(`${ORACLE}.json`, "utf8"))
    const file = await SafetensorsFile.open(`${ORACLE}.safetensors`)
    const { options, seed } = pixartCallFromDiffusers(meta.call)
    pipe.setPagAppliedLayers(meta.pag_applied_layers, { matching: "diffusers" })
    const generator = new RecordingGenerator(seed!)
    const steps: Tensor[] = []
    const out = await pipe.run({ ...options, generator, onStep: (e) => void steps.push(e.latents) })
    expect(out.pagLayers).toEqual(meta.pag_layers_resolved)
    expect(generator.draws).toHaveLength(1)
    expect(relativeL2(generator.draws[0]!, await file.read("noise.0"))).toBe(0)
    expect(steps).toHaveLength(meta.timesteps.length)
    for (const [k, latents] of steps.entries()) {
      expect(relativeL2(latents, await file.read(`latents.step${k}`)), `step ${k}`).toBeLessThan(1e-5)
    }
    const image = await file.read("image") // [N, H, W, 3]
    expect(out.images?.shape).toEqual([1, 3, 32, 32])
    expect(maxAbsDiff(permute(out.images!, [0, 2, 3, 1]), image)).toBeLessThan(1e-5)
    await file.close()
  })
})

describe("guidance modes (SPEC §1)", () => {
  it("lays out [uncond, cond, perturbed], [cond, perturbed], [uncond, cond], [cond] rows", async () => {
    pipe.setPagAppliedLayers("blocks.1", { matching: "diffusers" })
    const both = await oneStep(4.5, 3)
    const pagOnly = await oneStep(1, 3)
    const cfgOnly = await oneStep(4.5, 0)
    const none = await oneStep(1, 0)
    expect([both.rows, pagOnly.rows, cfgOnly.rows, none.rows]).toEqual([[3], [2], [2], [1]])
    // One DPM-Solver step is affine in eps: x1 = A·x + B·eps. The PAG term s(c − p) is the same with or without CFG:
    // x1(CFG+PAG) − x1(CFG) = x1(PAG) − x1(none).
    const pagTermWithCfg = sub(both.latents, cfgOnly.latents)
    const pagTermAlone = sub(pagOnly.latents, none.latents)
    expect(relativeL2(pagTermWithCfg, pagTermAlone)).toBeLessThan(1e-4)
    // and the modes really differ
    expect(relativeL2(pagOnly.latents, cfgOnly.latents)).toBeGreaterThan(1e-3)
    expect(relativeL2(both.latents, cfgOnly.latents)).toBeGreaterThan(1e-3)
    expect(relativeL2(pagOnly.latents, none.latents)).toBeGreaterThan(1e-3)
  })
})

describe("layout options", () => {
  it("gives the same latents with one transformer call per branch", async () => {
    pipe.setPagAppliedLayers("blocks.1", { matching: "diffusers" })
    const batched = await oneStep(4.5, 3)
    const separate = new PixArtSigmaPipeline(pipe.model, { passes: "separate" })
    callRows = []
    const out = await separate.run({ prompt: PROMPT, numInferenceSteps: 1, seed: 3, guidanceScale: 4.5, pagScale: 3 })
    expect(callRows).toEqual([1, 1, 1])
    expect(separate.pagLayers.layers).toHaveLength(3) // the default "blocks.1", diffusers matching
    expect(relativeL2(out.latents, batched.latents)).toBeLessThan(1e-5)
  })

  it("drops the perturbed rows on steps where the adaptive PAG scale reaches 0", async () => {
    callRows = []
    // s_t = max(0, 3 − 1·(1000 − t)): 2 at t = 999, 0 at t = 499
    await pipe.run({ prompt: PROMPT, numInferenceSteps: 2, seed: 0, pagScale: 3, pagAdaptiveScale: 1 })
    expect(callRows).toEqual([3, 2])
  })
})

describe("PAG layers", () => {
  it("setPagAppliedLayers takes effect on the next call without reloading", async () => {
    const session = pipe.model.transformer.session
    expect(pipe.setPagAppliedLayers("blocks.1", { matching: "diffusers" }).layers).toHaveLength(3)
    const overMatched = await oneStep(1, 3)
    expect(pipe.setPagAppliedLayers("blocks.1", { matching: "strict" }).layers).toEqual(["transformer_blocks.1.attn1"])
    const strict = await oneStep(1, 3)
    expect(pipe.model.transformer.session).toBe(session)
    expect(relativeL2(overMatched.latents, strict.latents)).toBeGreaterThan(1e-4)
    pipe.setPagAppliedLayers(["transformer_blocks.1.attn1", "transformer_blocks.10.attn1", "transformer_blocks.11.attn1"])
    const explicit = await oneStep(1, 3)
    expect(relativeL2(explicit.latents, overMatched.latents)).toBe(0)
  })

  it("rejects a pattern that matches nothing and keeps the previous layers", () => {
    pipe.setPagAppliedLayers("blocks.2", { matching: "strict" })
    expect(() => pipe.setPagAppliedLayers("mid")).toThrow(/transformer_blocks\.0\.attn1/)
    expect(pipe.pagLayers.layers).toEqual(["transformer_blocks.2.attn1"])
    expect(pipe.pagAppliedLayers).toEqual(["blocks.2"])
  })
})

describe("call options", () => {
  it("uses given latents as the starting noise", async () => {
    const seeded = await pipe.run({ prompt: PROMPT, numInferenceSteps: 1, seed: 5 })
    const noise = new TorchGenerator(5).randn([1, 4, 16, 16]) as Tensor<"float32">
    const given = await pipe.run({ prompt: PROMPT, numInferenceSteps: 1, latents: noise })
    expect(relativeL2(given.latents, seeded.latents)).toBe(0)
    await expect(pipe.run({ prompt: PROMPT, latents: Tensor.zeros([1, 4, 8, 8]) })).rejects.toThrow(/latents: expected shape/)
  })

  it("reports the seed it drew, skips the VAE for latent output and rejects unknown options", async () => {
    const out = await pipe.run({ prompt: PROMPT, numInferenceSteps: 1, outputType: "latent", pagScale: 0 })
    expect(out.images).toBeUndefined()
    expect(out.pagLayers).toEqual([])
    expect(out.warnings).toEqual([]) // no layer-matching note when PAG did not run
    expect(typeof out.seed).toBe("number")
    const again = await pipe.run({ prompt: PROMPT, numInferenceSteps: 1, outputType: "latent", pagScale: 0, seed: out.seed! })
    expect(relativeL2(again.latents, out.latents)).toBe(0)
    const typo = { prompt: PROMPT, guidance_scale: 3 } as unknown as Parameters<PixArtSigmaPipeline["run"]>[0]
    await expect(pipe.run(typo)).rejects.toThrow(/does not take "guidance_scale"/)
  })

  it("takes a ready guidance chain, its PAG patterns matched like the pipeline's", async () => {
    pipe.setPagAppliedLayers("blocks.1", { matching: "diffusers" })
    const reference = await oneStep(4.5, 3)
    const chain = guidance(cfg({ scale: 4.5 }), pag({ scale: 3, layers: ["blocks.1"] }))
    const out = await pipe.run({ prompt: PROMPT, numInferenceSteps: 1, seed: 3, guidance: chain })
    expect(out.pagLayers).toHaveLength(3)
    expect(relativeL2(out.latents, reference.latents)).toBe(0)
    await expect(pipe.run({ prompt: PROMPT, guidance: chain, pagScale: 2 })).rejects.toThrow(/not both/)
  })

  it("warns when the prompt is longer than maxSequenceLength", async () => {
    const warnings: string[] = []
    const out = await pipe.run({ prompt: PROMPT, numInferenceSteps: 1, seed: 0, maxSequenceLength: 8, onWarning: (w) => warnings.push(w) })
    expect(out.warnings).toEqual(warnings)
    expect(warnings.filter((w) => w.includes("truncated"))).toHaveLength(1)
    expect(warnings[0]).toContain("up to 8 tokens")
  })

  it("names the size the fixed-size transformer takes", async () => {
    await expect(pipe.run({ prompt: PROMPT, height: 64, width: 64 })).rejects.toThrow(PixArtSizeError)
    await expect(pipe.run({ prompt: PROMPT, height: 48, width: 32, useResolutionBinning: false })).rejects.toThrow(/32×32/)
  })

  it("makes several images per prompt and stops on abort", async () => {
    const out = await pipe.run({ prompt: ["a cat", "a dog"], numImagesPerPrompt: 2, numInferenceSteps: 1, seed: 1, pagScale: 0 })
    expect(out.images?.shape).toEqual([4, 3, 32, 32])
    expect([...out.images!.data].every((v) => v >= 0 && v <= 1)).toBe(true)
    const controller = new AbortController()
    controller.abort()
    await expect(pipe.run({ prompt: PROMPT, seed: 0, signal: controller.signal })).rejects.toThrow(AbortedError)
  })
})
