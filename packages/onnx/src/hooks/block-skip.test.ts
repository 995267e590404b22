import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Tensor, maxAbsDiff, relativeL2, slice } from "@pagkit/tensor"
import { HookError } from "../errors.js"
import { editedSession, oracleInputs, redirect } from "../internal/hook-testing.js"
import { model } from "../internal/fixtures.js"
import { jointAndSingleBlockModel, SYNTHETIC } from "../internal/synthetic-graphs.js"
import type { LayerIndex } from "../layers/layer-index.js"
import { encodeModel } from "../proto/encode.js"
import type { GraphProto, ModelProto } from "../proto/types.js"
import { createSession } from "../session/create-session.js"
import type { ModelSession } from "../session/model-session.js"
import { BLOCK_SKIP, blockSkip } from "./block-skip.js"
import { controlFeeds } from "./control-feeds.js"
import type { HookedModel } from "./hooked-model.js"
import { loadHookedModel } from "./load-hooked-model.js"

const row = (t: Tensor, b: number) => slice(t, 0, b, b + 1)

/** The hand-made skip: readers of each block's output read its input (last block first, so skips chain). */
function skipByHand(paths: readonly string[]) {
  return (m: ModelProto, index: LayerIndex) => {
    for (const block of [...index.blocks].reverse()) {
      if (!paths.includes(block.path)) continue
      redirect(m.graph, block.hiddenOutput, block.hiddenInput)
      if (block.encoderOutput !== undefined && block.encoderInput !== undefined) redirect(m.graph, block.encoderOutput, block.encoderInput)
    }
  }
}

for (const [folder, oracle, output, skipped] of [
  ["tiny-sdxl/unet", "denoiser-sdxl-unet", "out_sample", ["down_blocks.2.attentions.0.transformer_blocks.0", "down_blocks.2.attentions.0.transformer_blocks.1", "mid_block.attentions.0.transformer_blocks.1"]],
  ["tiny-pixart-sigma/transformer", "denoiser-pixart", "out_sample", ["transformer_blocks.3", "transformer_blocks.4", "transformer_blocks.9"]],
] as const) {
  describe(`blockSkip on ${folder}`, () => {
    let hooked: HookedModel
    let plain: ModelSession
    let inputs: Record<string, Tensor>
    beforeAll(async () => {
      inputs = await oracleInputs(oracle)
      hooked = await loadHookedModel(model(folder), { hooks: [blockSkip()], intraOpThreads: 2 })
      plain = await createSession(model(folder), { intraOpThreads: 2 })
    })
    afterAll(async () => {
      await hooked.release()
      await plain.release()
    })

    it("gates 0 reproduce the plain model bit for bit", async () => {
      const expected = (await plain.run(inputs))[output]!
      const out = (await hooked.run(inputs))[output]!
      expect(maxAbsDiff(out, expected)).toBe(0)
    })

    it("a gated row equals the model whose blocks' readers read the block input instead", async () => {
      const expected = (await plain.run(inputs))[output]!
      const byHand = await editedSession(folder, skipByHand(skipped))
      const skippedAll = (await byHand.run(inputs))[output]!
      await byHand.release()
      const feeds = controlFeeds(hooked.hook(BLOCK_SKIP), [undefined, undefined, { layers: skipped }])
      const out = (await hooked.run({ ...inputs, ...feeds }))[output]!
      const error = relativeL2(row(out, 2), row(skippedAll, 2))
      console.log(`${folder} block skip: relative L2 ${error.toExponential(2)}`)
      expect(error).toBeLessThan(1e-6)
      expect(maxAbsDiff(slice(out, 0, 0, 2), slice(expected, 0, 0, 2))).toBe(0)
      // the perturbation is far above the tolerance, so a no-op hook would fail
      expect(relativeL2(row(skippedAll, 2), row(expected, 2))).toBeGreaterThan(1e-3)
    })
  })
}

describe("blockSkip variants (diffusers' LayerSkipConfig)", () => {
  const folder = "tiny-pixart-sigma/transformer"
  const block = "transformer_blocks.5"
  const variants = [
    ["attention", { skipAttention: true, skipFf: false }, (g: GraphProto, index: LayerIndex) => {
      const attn1 = index.selfAttention.find((a) => a.block === block)!
      redirect(g, attn1.output!, attn1.normedInput)
    }],
    ["ff", { skipAttention: false, skipFf: true }, (g: GraphProto, index: LayerIndex) => {
      const ff = index.feedForward!.find((f) => f.block === block)!
      redirect(g, ff.output, ff.input)
    }],
    ["scores", { skipAttention: false, skipAttentionScores: true }, (g: GraphProto, index: LayerIndex) => {
      const attn1 = index.selfAttention.find((a) => a.block === block)!
      g.nodes.find((n) => n.name === attn1.toOut.matmulNode)!.inputs[0] = attn1.toV.output
    }],
  ] as const

  it("skipAttention, skipFf and skipAttentionScores each equal the same change made by hand (installed side by side)", async () => {
    const inputs = await oracleInputs("denoiser-pixart")
    const kinds = variants.map(([name, options]) => blockSkip({ ...options, name: `skip-${name}`, inputName: `skip_${name}_gates` }))
    const hooked = await loadHookedModel(model(folder), { hooks: kinds, intraOpThreads: 2 })
    const plain = (await hooked.run(inputs))["out_sample"]!
    for (const [name, , edit] of variants) {
      const byHand = await editedSession(folder, (m, index) => edit(m.graph, index))
      const expected = (await byHand.run(inputs))["out_sample"]!
      await byHand.release()
      const feeds = controlFeeds(hooked.hook(`skip-${name}`), [undefined, { layers: [block] }, { layers: [block] }])
      const out = (await hooked.run({ ...inputs, ...feeds }))["out_sample"]!
      const error = relativeL2(slice(out, 0, 1, 3), slice(expected, 0, 1, 3))
      console.log(`block skip (${name}) on ${folder}: relative L2 ${error.toExponential(2)}`)
      expect(error, name).toBeLessThan(1e-6)
      expect(maxAbsDiff(row(out, 0), row(plain, 0))).toBe(0)
      expect(relativeL2(row(out, 1), row(plain, 1))).toBeGreaterThan(1e-4)
    }
    await hooked.release()
  })

  it("rejects contradictory options like diffusers", () => {
    expect(() => blockSkip({ skipAttention: true, skipAttentionScores: true })).toThrow(HookError)
    expect(() => blockSkip({ skipAttention: false, skipFf: false })).toThrow(/at least one/)
  })
})

describe("blockSkip on SD3/Flux-shaped blocks", () => {
  it("skips both streams of a dual-stream block and a single-stream block", async () => {
    const { channels: c, imageTokens: n, textTokens: m } = SYNTHETIC
    const noise = (shape: number[], seed: number) => Tensor.fromArray(Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => Math.sin(i * 1.7 + seed)), shape)
    const inputs = { hidden_states: noise([2, n, c], 1), encoder_hidden_states: noise([2, m, c], 2), temb: noise([2, 1, c], 3) }
    for (const skipped of [["transformer_blocks.0"], ["single_transformer_blocks.0"], ["transformer_blocks.0", "single_transformer_blocks.0"]]) {
      const hooked = await loadHookedModelFromModel(jointAndSingleBlockModel())
      const byHand = await editedSession(jointAndSingleBlockModel(), skipByHand(skipped))
      const expected = (await byHand.run(inputs))["out"]!
      const out = (await hooked.run({ ...inputs, ...controlFeeds(hooked.hook(BLOCK_SKIP), [undefined, { layers: skipped }]) }))["out"]!
      const plain = (await hooked.run(inputs))["out"]!
      expect(relativeL2(row(out, 1), row(expected, 1)), skipped.join()).toBeLessThan(1e-6)
      expect(maxAbsDiff(row(out, 0), row(plain, 0))).toBe(0)
      expect(relativeL2(row(out, 1), row(plain, 1))).toBeGreaterThan(1e-3)
      await Promise.all([hooked.release(), byHand.release()])
    }
  })
})

describe("blockSkip attention-only on joint and unprojected attention", () => {
  it("both streams of joint attention and a to_out-less attention output read their inputs, as by hand", async () => {
    const { channels: c, imageTokens: n, textTokens: m } = SYNTHETIC
    const noise = (shape: number[], seed: number) => Tensor.fromArray(Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => Math.cos(i * 0.9 + seed)), shape)
    const inputs = { hidden_states: noise([2, n, c], 1), encoder_hidden_states: noise([2, m, c], 2), temb: noise([2, 1, c], 3) }
    const options = { skipAttention: true, skipFf: false }
    const hooked = await loadHookedModelFromModel(jointAndSingleBlockModel(), options)
    const byHand = await editedSession(jointAndSingleBlockModel(), (model, index) => {
      const joint = index.jointAttention![0]!
      redirect(model.graph, joint.output!, joint.normedInput)
      redirect(model.graph, joint.toAddOut!.output, joint.addQ!.input)
      const single = index.unprojectedAttention![0]!
      redirect(model.graph, single.output, single.normedInput)
    })
    const expected = (await byHand.run(inputs))["out"]!
    const out = (await hooked.run({ ...inputs, ...controlFeeds(hooked.hook(BLOCK_SKIP), [undefined, { layers: hooked.layers(BLOCK_SKIP) }]) }))["out"]!
    const plain = (await hooked.run(inputs))["out"]!
    expect(relativeL2(row(out, 1), row(expected, 1))).toBeLessThan(1e-6)
    expect(maxAbsDiff(row(out, 0), row(plain, 0))).toBe(0)
    expect(relativeL2(row(out, 1), row(plain, 1))).toBeGreaterThan(1e-3)
    await Promise.all([hooked.release(), byHand.release()])
  })
})

describe("blockSkip sites per mode", () => {
  it("covers only the blocks a partial skip can change, and refuses the others by name", async () => {
    const { rewriteModel } = await import("./load-hooked-model.js")
    const bytes = encodeModel(jointAndSingleBlockModel())
    const sites = (options: Parameters<typeof blockSkip>[0]) => rewriteModel(bytes, [blockSkip(options)]).hooks[0]!
    expect(sites({}).layers).toEqual(["transformer_blocks.0", "single_transformer_blocks.0"])
    expect(sites({ skipAttention: true, skipFf: false }).layers).toEqual(["transformer_blocks.0", "single_transformer_blocks.0"])
    const ff = sites({ skipAttention: false, skipFf: true })
    expect(ff.layers).toEqual(["transformer_blocks.0"])
    expect(() => controlFeeds(ff, [{ layers: ["single_transformer_blocks.0"] }])).toThrow(/not one of the 1 block sites/)
    expect(sites({ skipAttention: false, skipAttentionScores: true, skipFf: false }).layers).toEqual(["single_transformer_blocks.0"])
  })
})

async function loadHookedModelFromModel(decoded: ReturnType<typeof jointAndSingleBlockModel>, options: Parameters<typeof blockSkip>[0] = {}): Promise<HookedModel> {
  const { rewriteModel } = await import("./load-hooked-model.js")
  const { HookedModel } = await import("./hooked-model.js")
  const entry = rewriteModel(encodeModel(decoded), [blockSkip(options)])
  return new HookedModel(await createSession(entry.bytes), entry.index, entry.hooks)
}
