import { readFile } from "node:fs/promises"
import { describe, expect, it } from "vitest"
import { LayerIndexError } from "../errors.js"
import { model } from "../internal/fixtures.js"
import { decodeModel } from "../proto/decode.js"
import { buildLayerIndex } from "./layer-index.js"
import { modulePathFromNameScopes, modulePathFromNodeName } from "./module-paths.js"

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
