import { readFile } from "node:fs/promises"
import { describe, expect, it } from "vitest"
import { HookError } from "../errors.js"
import { identityAttention } from "../hooks/identity-attention.js"
import { installHooks } from "../hooks/install.js"
import { model } from "../internal/fixtures.js"
import { buildLayerIndex } from "../layers/layer-index.js"
import { decodeModel } from "../proto/decode.js"
import { encodeModel } from "../proto/encode.js"
import { SPLIT_ROW_INDEX_INPUT, fuseSplit } from "./fuse-split.js"
import { splitAtLayers } from "./split-at-layers.js"

async function hookedTinySdxl() {
  const decoded = decodeModel(new Uint8Array(await readFile(model("tiny-sdxl/unet"))))
  const hooks = installHooks(decoded, buildLayerIndex(decoded), [identityAttention()])
  return { decoded, hooks }
}

describe("splitAtLayers", () => {
  it("cuts at the first perturbed gate; skip connections and later cross-attention keys cross; the input is untouched", async () => {
    const { decoded, hooks } = await hookedTinySdxl()
    const before = encodeModel(decoded)
    const mid = hooks[0]!.layers.filter((p) => p.startsWith("mid_block."))
    const split = splitAtLayers(decoded, { hooks, layers: { "identity-attention": [...mid].reverse() } })
    expect(Buffer.compare(encodeModel(decoded), before)).toBe(0)
    expect(split.layers).toEqual({ "identity-attention": [...mid].sort() })
    const crossingNames = split.crossing.map((c) => c.name)
    expect(crossingNames).toContain("/conv_in/Conv_output_0") // the first skip connection
    expect(crossingNames.some((n) => n.startsWith("/up_blocks.1/") && n.includes("attn2/to_k"))).toBe(true)
    expect(split.prefixInputs).not.toContain("pag_gates") // every unperturbed hook was removed
    expect(split.suffixInputs).toContain("pag_gates")
    expect(split.stats.bypassedHooks).toBe(15)
    // nothing of the prefix reads a perturbed layer's gate, and only the perturbed hooks' Gathers remain
    const gathers = split.suffix.graph.nodes.filter((n) => n.inputs.includes("pag_gates"))
    expect(gathers).toHaveLength(2)
    // of the hooks, the prefix keeps only the first perturbed layer's V − core (it does not depend on the gate;
    // the second layer's does, through the first layer's output)
    const hookNodes = split.prefix.graph.nodes.filter((n) => n.name.includes("/pagkit/"))
    expect(hookNodes.map((n) => `${n.opType} ${n.name}`)).toEqual(["Sub /pagkit/identity_attention/mid_block/attentions/0/transformer_blocks/0/attn1/Sub"])
    // a per-row crossing tensor knows the model inputs it depends on
    expect(split.crossing.find((c) => c.name === "/conv_in/Conv_output_0")?.dependsOn).toEqual(["sample"])
    // weights are shared by reference, not copied
    const shared = split.prefix.graph.initializers[0]!
    expect(decoded.graph.initializers).toContain(shared)
    // fused: one graph, unique node names and outputs, a row-index input, the gate fed for every row
    const fused = fuseSplit(split, { perRowInputs: ["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids"], gateInputs: ["pag_gates"] })
    const names = fused.graph.nodes.map((n) => n.name)
    expect(new Set(names).size).toBe(names.length)
    const outputs = fused.graph.nodes.flatMap((n) => n.outputs)
    expect(new Set(outputs).size).toBe(outputs.length)
    expect(fused.graph.inputs.map((i) => i.name)).toContain(SPLIT_ROW_INDEX_INPUT)
    expect(fused.graph.nodes.filter((n) => n.inputs.includes(SPLIT_ROW_INDEX_INPUT))).toHaveLength(
      split.crossing.filter((c) => c.dependsOn.length > 0).length + split.suffixInputs.filter((n) => n !== "pag_gates").length,
    )
  })

  it("names unknown layers and kinds, and refuses an empty layer set", async () => {
    const { decoded, hooks } = await hookedTinySdxl()
    expect(() => splitAtLayers(decoded, { hooks, layers: { "identity-attention": ["mid_block.nope"] } })).toThrow(/has no such layer/)
    expect(() => splitAtLayers(decoded, { hooks, layers: { "block-skip": ["mid_block"] } })).toThrow(HookError)
    expect(() => splitAtLayers(decoded, { hooks, layers: {} })).toThrow(/at no layers/)
  })
})
