import { readFile } from "node:fs/promises"
import { beforeAll, describe, expect, it } from "vitest"
import { LayerPatternError } from "../errors.js"
import { model } from "../internal/fixtures.js"
import { jointAndSingleBlockModel } from "../internal/synthetic-graphs.js"
import { decodeModel } from "../proto/decode.js"
import { buildLayerIndex } from "./layer-index.js"
import type { LayerIndex } from "./layer-index.js"
import { resolveLayers } from "./patterns.js"
import { LAYER_TARGETS, layerSites } from "./targets.js"

async function indexOf(folder: string): Promise<LayerIndex> {
  return buildLayerIndex(decodeModel(new Uint8Array(await readFile(model(folder)))))
}

describe("patterns resolve against every target's sites", () => {
  let sdxl: LayerIndex
  let pixart: LayerIndex
  beforeAll(async () => {
    sdxl = await indexOf("tiny-sdxl/unet")
    pixart = await indexOf("tiny-pixart-sigma/transformer")
  })

  it("selects blocks by diffusers-style patterns, strict patterns and the structured syntax", () => {
    const midBlocks = ["mid_block.attentions.0.transformer_blocks.0", "mid_block.attentions.0.transformer_blocks.1"]
    expect(resolveLayers(sdxl, ["mid"], { target: "block" }).layers).toEqual(midBlocks)
    expect(resolveLayers(sdxl, ["mid"], { target: "block", mode: "strict" }).layers).toEqual(midBlocks)
    expect(resolveLayers(sdxl, ["down.block_2.attentions_1"], { target: "block", mode: "strict" }).layers).toEqual([
      "down_blocks.2.attentions.1.transformer_blocks.0",
      "down_blocks.2.attentions.1.transformer_blocks.1",
    ])
    expect(resolveLayers(sdxl, ["up.block_0.attentions_2.transformer_blocks_1"], { target: "block", mode: "strict" }).layers).toEqual([
      "up_blocks.0.attentions.2.transformer_blocks.1",
    ])
    expect(resolveLayers(pixart, ["blocks.3"], { target: "block" }).layers).toEqual(["transformer_blocks.3"])
    // diffusers' re.search semantics: "blocks.1" also hits 10 and 11; strict mode takes whole numbers
    expect(resolveLayers(pixart, ["blocks.1"], { target: "block" }).layers).toEqual(["transformer_blocks.1", "transformer_blocks.10", "transformer_blocks.11"])
    const strict = resolveLayers(pixart, ["blocks.1"], { target: "block", mode: "strict" })
    expect(strict.layers).toEqual(["transformer_blocks.1"])
    expect(strict.notes.join(" ")).toMatch(/transformer_blocks.10/)
  })

  it("selects query projections, feed-forward modules and cross-attention the same way", () => {
    expect(resolveLayers(sdxl, ["mid"], { target: "attention-query" }).layers).toEqual([
      "mid_block.attentions.0.transformer_blocks.0.attn1.to_q",
      "mid_block.attentions.0.transformer_blocks.0.attn2.to_q",
      "mid_block.attentions.0.transformer_blocks.1.attn1.to_q",
      "mid_block.attentions.0.transformer_blocks.1.attn2.to_q",
    ])
    expect(resolveLayers(sdxl, ["attn1.to_q"], { target: "attention-query" }).layers).toHaveLength(17)
    expect(resolveLayers(pixart, ["blocks.11"], { target: "feed-forward", mode: "strict" }).layers).toEqual(["transformer_blocks.11.ff"])
    expect(resolveLayers(sdxl, ["mid"], { target: "cross-attention" }).layers).toEqual([
      "mid_block.attentions.0.transformer_blocks.0.attn2",
      "mid_block.attentions.0.transformer_blocks.1.attn2",
    ])
  })

  it("names the target and lists its sites when nothing matches", () => {
    const run = () => resolveLayers(pixart, ["mid"], { target: "block" })
    expect(run).toThrow(LayerPatternError)
    expect(run).toThrow(/matched no block site[\s\S]*transformer_blocks\.11/)
    expect(() => resolveLayers(pixart, ["attn"], { target: "joint-attention" })).toThrow(/matched no joint-attention site/)
  })

  it("resolves joint attention and Flux single blocks on DiT-style graphs", () => {
    const index = buildLayerIndex(jointAndSingleBlockModel())
    expect(resolveLayers(index, ["transformer_blocks.0"], { target: "joint-attention" }).layers).toEqual(["transformer_blocks.0.attn"])
    // diffusers' unanchored search hits both block stacks; strict mode's whole components too
    expect(resolveLayers(index, ["transformer_blocks.0"], { target: "block" }).layers).toEqual(["transformer_blocks.0", "single_transformer_blocks.0"])
    expect(resolveLayers(index, ["^single_"], { target: "block" }).layers).toEqual(["single_transformer_blocks.0"])
    expect(() => resolveLayers(index, ["attn"])).toThrow(/matched no self-attention site/)
    expect(Object.fromEntries(LAYER_TARGETS.map((t) => [t, layerSites(index, t).length]))).toEqual({
      "self-attention": 0,
      "cross-attention": 0,
      "joint-attention": 1,
      "attention-query": 2,
      block: 2,
      "feed-forward": 2,
    })
  })
})
