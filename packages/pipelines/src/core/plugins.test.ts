// "Plugins for real": a hook kind and a middleware defined in this file, installed through the public options of
// both families, give exactly what the same graph change made by hand gives.
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises"
import { readFile } from "node:fs/promises"
import os from "node:os"
import path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { guidance } from "@pagkit/guidance"
import { buildLayerIndex, decodeModel, encodeModel, float32Initializer, makeNode } from "@pagkit/onnx"
import { KIND, blockScale, rewireConsumers, scaledBlockOnly } from "../internal/test-plugins.js"
import { Tensor } from "@pagkit/tensor"
import { tinyModelPath } from "@pagkit/tiny-models"
import { AutoPipelineForText2Image } from "../auto-pipeline.js"
import { PixArtSigmaPipeline } from "../pixart/pixart-sigma-pipeline.js"

/** The same change by hand: one block's output × a constant, for every row, written as a new model file. */
async function scaleBlockByHand(source: string, blockPath: string, factor: number, target: string): Promise<void> {
  const model = decodeModel(new Uint8Array(await readFile(source)))
  const block = buildLayerIndex(model).blocks.find((b) => b.path === blockPath)
  if (block === undefined) throw new Error(`no block ${blockPath}`)
  const constant = "/by_hand/factor"
  model.graph.initializers.push(float32Initializer(constant, new Float32Array([factor]), []))
  const scaled = "/by_hand/scaled"
  rewireConsumers(model, block.hiddenOutput, scaled, new Set())
  // keep topological order: the Mul goes right after the node producing the block's output
  const producer = model.graph.nodes.findIndex((n) => n.outputs.includes(block.hiddenOutput))
  const mul = makeNode({ opType: "Mul", name: "/by_hand/Mul", inputs: [block.hiddenOutput, constant], outputs: [scaled], attributes: [] })
  model.graph.nodes.splice(producer + 1, 0, mul)
  await writeFile(target, encodeModel(model))
}

function relativeL2(a: Tensor, b: Tensor): number {
  let num = 0
  let den = 0
  for (let i = 0; i < a.data.length; i++) {
    const d = Number(a.data[i]) - Number(b.data[i])
    num += d * d
    den += Number(b.data[i]) ** 2
  }
  return Math.sqrt(num / den)
}

const temps: string[] = []
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "pagkit-plugins-"))
  temps.push(dir)
  return dir
}
afterAll(async () => {
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })))
})

describe("a hook kind and a middleware from outside pagkit", () => {
  it("SDXL: fromPretrained(dir, { hooks }) + a custom chain equals the graph changed by hand", async () => {
    const block = "mid_block.attentions.0.transformer_blocks.1"
    const factor = 1.75
    const call = { prompt: "a red circle", numInferenceSteps: 3, seed: 3, height: 64, width: 64, outputType: "latent" as const }
    const pipe = await AutoPipelineForText2Image.fromPretrained(tinyModelPath("tiny-sdxl"), { hooks: [blockScale()] })
    expect(pipe.model.unet.hookKinds).toContain(KIND)
    const hooked = await pipe.run({ ...call, guidance: guidance(scaledBlockOnly({ block, factor })) })

    const dir = await tempDir()
    await cp(path.join(tinyModelPath("tiny-sdxl"), "unet", "config.json"), path.join(dir, "config.json"))
    await scaleBlockByHand(path.join(tinyModelPath("tiny-sdxl"), "unet", "model.onnx"), block, factor, path.join(dir, "model.onnx"))
    const byHand = await AutoPipelineForText2Image.fromPretrained(tinyModelPath("tiny-sdxl"), { unet: dir })
    const expected = await byHand.run({ ...call, guidanceScale: 1 })
    expect(relativeL2(hooked.latents, expected.latents)).toBeLessThan(1e-5)
    const unhooked = await pipe.run({ ...call, guidanceScale: 1 })
    expect(relativeL2(unhooked.latents, expected.latents)).toBeGreaterThan(1e-3) // the hook really changed something
    await Promise.all([pipe.model.release(), byHand.model.release()])
  })

  it("PixArt: the kind installs on demand from the catalogue when a chain declares it", async () => {
    const block = "transformer_blocks.5"
    const factor = 0.5
    const call = { prompt: "a small cactus", numInferenceSteps: 3, seed: 5, outputType: "latent" as const, guidanceScale: 1, pagScale: 0 }
    const pipe = await PixArtSigmaPipeline.fromPretrained(tinyModelPath("tiny-pixart-sigma"), { hookCatalogue: [blockScale()] })
    expect(pipe.model.transformer.hookKinds).not.toContain(KIND)
    const session = pipe.model.transformer.session
    const { guidanceScale: _g, pagScale: _p, ...rest } = call
    const hooked = await pipe.run({ ...rest, guidance: guidance(scaledBlockOnly({ block, factor })) })
    expect(pipe.model.transformer.hookKinds).toContain(KIND)
    expect(pipe.model.transformer.session).not.toBe(session)
    const session2 = pipe.model.transformer.session
    await pipe.run({ ...rest, numInferenceSteps: 1, guidance: guidance(scaledBlockOnly({ block: "transformer_blocks.1", factor: 2 })) })
    expect(pipe.model.transformer.session).toBe(session2) // other sites, other value: inputs only

    const dir = await tempDir()
    await cp(tinyModelPath("tiny-pixart-sigma"), dir, { recursive: true })
    await scaleBlockByHand(path.join(dir, "transformer", "model.onnx"), block, factor, path.join(dir, "transformer", "model.onnx"))
    const byHand = await PixArtSigmaPipeline.fromPretrained(dir)
    const expected = await byHand.run(call)
    expect(relativeL2(hooked.latents, expected.latents)).toBeLessThan(1e-5)
    await Promise.all([pipe.release(), byHand.release()])
  })
})
