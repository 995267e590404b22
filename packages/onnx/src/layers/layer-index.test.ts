import { readFile } from "node:fs/promises"
import { describe, expect, it } from "vitest"
import { LayerIndexError } from "../errors.js"
import { model } from "../internal/fixtures.js"
import { jointAndSingleBlockModel } from "../internal/synthetic-graphs.js"
import { decodeModel } from "../proto/decode.js"
import { buildLayerIndex } from "./layer-index.js"
import { modulePathFromNameScopes, modulePathFromNodeName } from "./module-paths.js"
import { layerSites } from "./targets.js"

async function indexOf(folder: string) {
  return buildLayerIndex(decodeModel(new Uint8Array(await readFile(model(folder)))))
}

describe("module paths", () => {
  it("reads legacy node names", () => {
    expect(modulePathFromNodeName("/mid_block/attentions.0/transformer_blocks.1/attn1/to_q/MatMul")).toBe(
      "mid_block.attentions.0.transformer_blocks.1.attn1.to_q",
    )
    expect(modulePathFromNodeName("node_MatMul_12")).toBeUndefined()
  })
  it("reads dynamo name scopes relative to the diffusers model", () => {
    const scopes = "['', 'u', 'u.mid_block', 'u.mid_block.attentions.0', 'u.mid_block.attentions.0.transformer_blocks.0.attn1', 'linear_83']"
    const classes = "['Wrap', 'diffusers.models.unets.unet_2d_condition.UNet2DConditionModel', 'a', 'b', 'c', 'aten.linear.default']"
    expect(modulePathFromNameScopes(scopes, classes)).toBe("mid_block.attentions.0.transformer_blocks.0.attn1")
  })
})

describe("buildLayerIndex", () => {
  for (const folder of ["tiny-sdxl/unet", "variants/unet-dynamo", "variants/unet-fp16", "variants/unet-controlnet"]) {
    it(`finds 17 self-attention layers in ${folder}`, async () => {
      const index = await indexOf(folder)
      expect(index.selfAttention).toHaveLength(17)
      expect(index.crossAttention).toHaveLength(17)
      expect(index.source).toBe(folder.includes("dynamo") ? "name-scopes" : "node-names")
      const mid = index.selfAttention.find((a) => a.path === "mid_block.attentions.0.transformer_blocks.1.attn1")
      expect(mid?.block).toBe("mid_block.attentions.0.transformer_blocks.1")
      expect(mid?.elemType).toBe(folder.includes("fp16") ? 10 : 1)
      expect(index.crossAttention[0]!.toK.input).toMatch(/^(encoder_hidden_states|graph_input_cast_2)$/)
      expect(index.blocks.length).toBe(17)
      // consecutive blocks chain: the second mid block reads what the first one writes
      const [mid0, mid1] = index.blocks.filter((b) => b.path.startsWith("mid_block."))
      expect(mid1!.hiddenInput).toBe(mid0!.hiddenOutput)
      expect(mid0!.inputs).not.toContain("mid_block.attentions.0.transformer_blocks.0.norm1.weight")
    })
  }
  it("finds PixArt's 12 self-attention layers with biased value projections", async () => {
    const index = await indexOf("tiny-pixart-sigma/transformer")
    expect(index.selfAttention.map((a) => a.path)).toEqual(Array.from({ length: 12 }, (_, i) => `transformer_blocks.${i}.attn1`))
    expect(index.blocks[2]!.hiddenInput).toBe(index.blocks[1]!.hiddenOutput)
    expect(index.blocks[1]!.hiddenOutput).toBe("/transformer_blocks.1/Add_8_output_0")
    const first = index.selfAttention[1]!
    expect(first.toV.output).toBe("/transformer_blocks.1/attn1/to_v/Add_output_0")
    expect(first.toOut.matmulNode).toBe("/transformer_blocks.1/attn1/to_out.0/MatMul")
  })
  it("explains graphs without module paths", async () => {
    const bytes = new Uint8Array(await readFile(model("tiny-sdxl/vae_decoder")))
    const decoded = decodeModel(bytes)
    for (const node of decoded.graph.nodes) node.name = `n${Math.random()}`
    expect(() => buildLayerIndex(decoded)).toThrow(LayerIndexError)
    expect(() => buildLayerIndex(decoded)).toThrow(/name_scopes/)
  })
})

describe("layer index: every hookable site", () => {
  it("indexes SDXL's blocks, feed-forward modules and query sites with the tensors a skip needs", async () => {
    const index = await indexOf("tiny-sdxl/unet")
    expect(index.jointAttention).toEqual([])
    expect(index.unprojectedAttention).toEqual([])
    expect(index.feedForward).toHaveLength(17)
    const mid0 = index.blocks.find((b) => b.path === "mid_block.attentions.0.transformer_blocks.0")!
    expect(mid0.hiddenInput).toBe("/mid_block/attentions.0/proj_in/Add_output_0")
    expect(mid0.hiddenOutput).toBe("/mid_block/attentions.0/transformer_blocks.0/Add_2_output_0")
    expect(mid0.encoderInput).toBeUndefined()
    const ff = index.feedForward!.find((f) => f.path === "mid_block.attentions.0.transformer_blocks.0.ff")!
    expect(ff).toMatchObject({
      input: "/mid_block/attentions.0/transformer_blocks.0/norm3/LayerNormalization_output_0",
      output: "/mid_block/attentions.0/transformer_blocks.0/ff/net.2/Add_output_0",
      block: "mid_block.attentions.0.transformer_blocks.0",
    })
    const attn1 = index.selfAttention.find((a) => a.block === mid0.path)!
    expect(attn1.output).toBe("/mid_block/attentions.0/transformer_blocks.0/attn1/Div_2_output_0")
    expect(layerSites(index, "attention-query")).toHaveLength(34)
    expect(layerSites(index, "attention-query")[0]).toBe("down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q")
    expect(layerSites(index, "block")).toEqual(index.blocks.map((b) => b.path))
  })

  it("indexes PixArt's blocks and feed-forward modules (the same paths in the dynamo export of SDXL)", async () => {
    const index = await indexOf("tiny-pixart-sigma/transformer")
    expect(layerSites(index, "block")).toEqual(Array.from({ length: 12 }, (_, i) => `transformer_blocks.${i}`))
    expect(layerSites(index, "feed-forward")).toEqual(Array.from({ length: 12 }, (_, i) => `transformer_blocks.${i}.ff`))
    expect(index.blocks[0]!.hiddenInput).not.toBe(index.blocks[0]!.inputs.find((i) => i.includes("adaln")))
    const legacy = await indexOf("tiny-sdxl/unet")
    const dynamo = await indexOf("variants/unet-dynamo")
    expect(layerSites(dynamo, "block")).toEqual(layerSites(legacy, "block"))
    expect(layerSites(dynamo, "feed-forward")).toEqual(layerSites(legacy, "feed-forward"))
  })

  it("recognises SD3 joint attention as its own type and indexes Flux single blocks without to_out", () => {
    const index = buildLayerIndex(jointAndSingleBlockModel())
    expect(index.selfAttention).toEqual([])
    expect(index.crossAttention).toEqual([])
    expect(index.attention).toEqual([])
    const [joint] = index.jointAttention!
    expect(joint).toMatchObject({ path: "transformer_blocks.0.attn", kind: "joint", block: "transformer_blocks.0" })
    expect(joint!.addK?.matmulNode).toBe("/transformer_blocks.0/attn/add_k_proj/MatMul")
    expect(joint!.toAddOut?.output).toBe("/transformer_blocks.0/attn/to_add_out/Add_output_0")
    expect(joint!.output).toBe("/transformer_blocks.0/attn/to_out.0/Add_output_0")
    const [single] = index.unprojectedAttention!
    expect(single).toMatchObject({ path: "single_transformer_blocks.0.attn", kind: "self", block: "single_transformer_blocks.0" })
    expect(single!.output).toBe("/single_transformer_blocks.0/attn/MatMul_1_output_0")
    expect(layerSites(index, "joint-attention")).toEqual(["transformer_blocks.0.attn"])
    expect(layerSites(index, "attention-query")).toEqual(["transformer_blocks.0.attn.to_q", "single_transformer_blocks.0.attn.to_q"])
    expect(layerSites(index, "self-attention")).toEqual([])
    const [dual, flux] = index.blocks
    // the text stream is processed last: the image output is found by its residual chain, not by graph order
    expect(dual).toMatchObject({
      path: "transformer_blocks.0",
      hiddenInput: "hidden_states",
      hiddenOutput: "/transformer_blocks.0/Add_1_output_0",
      encoderInput: "encoder_hidden_states",
      encoderOutput: "/transformer_blocks.0/Add_3_output_0",
    })
    // the first node of `norm` reads temb; the hidden input is what its LayerNorm reads
    expect(flux).toMatchObject({ path: "single_transformer_blocks.0", hiddenInput: "/Concat_output_0", hiddenOutput: "/single_transformer_blocks.0/Add_output_0" })
    expect(layerSites(index, "feed-forward")).toEqual(["transformer_blocks.0.ff", "transformer_blocks.0.ff_context"])
  })

  it("refuses attention modules whose projections it cannot find, naming them", () => {
    const model = jointAndSingleBlockModel()
    for (const node of model.graph.nodes) node.name = node.name.replace("/single_transformer_blocks.0/attn/to_k/", "/single_transformer_blocks.0/attn/qk/")
    expect(() => buildLayerIndex(model)).toThrow(/"single_transformer_blocks.0.attn" has a to_q projection but no to_k/)
  })
})
