import { readFileSync } from "node:fs"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { LayerPatternError } from "../errors.js"
import { oraclesDir } from "../internal/fixtures.js"
import { resolveLayers, structuredPrefix } from "./patterns.js"

interface ModelCases {
  self_attention_modules: string[]
  patterns: Record<string, string[] | string>
}
const oracle = JSON.parse(readFileSync(path.join(oraclesDir, "pag-layer-matching.json"), "utf8")) as Record<string, ModelCases>

describe("resolveLayers in diffusers mode matches diffusers' matcher", () => {
  for (const [modelName, cases] of Object.entries(oracle)) {
    for (const [pattern, expected] of Object.entries(cases.patterns)) {
      it(`${modelName}: ${pattern}`, () => {
        const run = () => resolveLayers(cases.self_attention_modules, [pattern], { mode: "diffusers" })
        if (typeof expected === "string") {
          expect(run).toThrow(LayerPatternError)
          expect(run).toThrow(new RegExp(`"${pattern.replace(/[.()|]/g, "\\$&")}" matched no self-attention site`))
        } else {
          expect([...run().layers].sort()).toEqual([...expected].sort())
        }
      })
    }
  }
})

describe("resolveLayers in strict mode", () => {
  const sdxl = oracle["sdxl"]!.self_attention_modules
  const pixart = oracle["pixart"]!.self_attention_modules
  const strict = { mode: "strict" } as const

  it("matches numbers as whole components and notes diffusers' over-match", () => {
    const { layers, notes } = resolveLayers(pixart, ["blocks.1"], strict)
    expect(layers).toEqual(["transformer_blocks.1.attn1"])
    expect(notes.join("\n")).toMatch(/transformer_blocks\.10\.attn1, transformer_blocks\.11\.attn1/)
    expect(resolveLayers(pixart, ["blocks.(0|2)"], strict).layers).toEqual(["transformer_blocks.0.attn1", "transformer_blocks.2.attn1"])
    const diffusers = resolveLayers(pixart, ["blocks.1"])
    expect(diffusers.layers).toHaveLength(3)
    expect(diffusers.notes[0]).toMatch(/also selects transformer_blocks\.10\.attn1, transformer_blocks\.11\.attn1.*"strict"/)
    expect(resolveLayers(sdxl, ["mid"], strict).notes).toEqual([])
    expect(resolveLayers(sdxl, ["mid"]).notes).toEqual([])
  })

  it("accepts the structured syntax", () => {
    expect(structuredPrefix("down.block_2")).toBe("down_blocks.2")
    expect(structuredPrefix("up.block_1.attentions_0")).toBe("up_blocks.1.attentions.0")
    expect(structuredPrefix("mid.attentions_0.transformer_blocks_1")).toBe("mid_block.attentions.0.transformer_blocks.1")
    expect(resolveLayers(sdxl, ["down.block_2"], strict).layers).toHaveLength(4)
    expect(resolveLayers(sdxl, ["up.block_1.attentions_0"], strict).layers).toEqual(["up_blocks.1.attentions.0.transformer_blocks.0.attn1"])
    expect(resolveLayers(sdxl, ["up.block_1.attentions_0"], strict).notes[0]).toMatch(/diffusers would raise/)
  })

  it("accepts exact module paths and dedups in index order", () => {
    const exact = "mid_block.attentions.0.transformer_blocks.1.attn1"
    expect(resolveLayers(sdxl, [exact, "mid"], strict).layers).toEqual([
      "mid_block.attentions.0.transformer_blocks.0.attn1",
      "mid_block.attentions.0.transformer_blocks.1.attn1",
    ])
  })

  it("lists available layers when nothing matches", () => {
    const error = (() => {
      try {
        resolveLayers(pixart, ["mid"], strict)
      } catch (e) {
        return e as LayerPatternError
      }
      return undefined
    })()
    expect(error).toBeInstanceOf(LayerPatternError)
    expect(error?.pattern).toBe("mid")
    expect(error?.message).toMatch(/transformer_blocks\.11\.attn1/)
    expect(() => resolveLayers(sdxl, ["down.block_2"])).toThrow(/structured syntax.*down_blocks\.2/)
    expect(() => resolveLayers(sdxl, ["(unclosed"])).toThrow(/not a valid regular expression/)
  })
})
