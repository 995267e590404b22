// A hook kind defined in this test file that scales a block's output by a per-row, per-block parameter (layout
// "params", off value 1): proves per-row float parameters work end to end through loadHookedModel and HookedModel.run.
import { describe, expect, it } from "vitest"
import type { Tensor } from "@pagkit/tensor"
import { maxAbsDiff, relativeL2, slice } from "@pagkit/tensor"
import { editedSession, oracleInputs } from "../internal/hook-testing.js"
import { model } from "../internal/fixtures.js"
import type { LayerIndex } from "../layers/layer-index.js"
import { resolveLayers } from "../layers/patterns.js"
import { float32Initializer, makeNode } from "../proto/build.js"
import { DataType } from "../proto/types.js"
import type { ModelProto } from "../proto/types.js"
import { controlFeeds } from "./control-feeds.js"
import { batchParam, gateColumn } from "./gate-column.js"
import type { GraphEditor } from "./graph-editor.js"
import type { HookKind, InstalledHook } from "./hook-kind.js"
import { loadHookedModel } from "./load-hooked-model.js"

const BLOCK_SCALE = "block-scale"

/** out' = out · s[b, j] after block j (s = 1: unchanged). */
const blockScale: HookKind = {
  name: BLOCK_SCALE,
  version: 1,
  target: "block",
  layers: (index: LayerIndex) => index.blocks.map((b) => b.path),
  install(editor: GraphEditor, index: LayerIndex): InstalledHook {
    editor.addInput("block_scale", DataType.FLOAT, [batchParam(editor), index.blocks.length])
    index.blocks.forEach((block, column) => {
      const base = `/test/block_scale/${block.path}`
      const scale = gateColumn(editor, { input: "block_scale", column, base, elemType: DataType.FLOAT })
      const scaled = editor.fresh(`${base}/scaled`)
      editor.replaceUses(block.hiddenOutput, scaled)
      editor.addNodeWithOutput("Mul", [block.hiddenOutput, scale], scaled, `${base}/Mul`)
    })
    return {
      kind: BLOCK_SCALE,
      target: "block",
      layers: index.blocks.map((b) => b.path),
      inputs: [{ name: "block_scale", layout: "params", offValue: 1, description: "per row and block: factor on the block's output" }],
    }
  },
}

/** The same change by hand: readers of each chosen block's output read `out · c`, c a constant `[rows, 1, 1]`. */
function scaleByHand(perBlock: Record<string, readonly number[]>) {
  return (decoded: ModelProto, index: LayerIndex) => {
    for (const [path, perRow] of Object.entries(perBlock)) {
      const out = index.blocks.find((b) => b.path === path)!.hiddenOutput
      const scaled = `${out}/by_hand`
      for (const node of decoded.graph.nodes) node.inputs.forEach((input, i) => (input === out ? (node.inputs[i] = scaled) : undefined))
      decoded.graph.initializers.push(float32Initializer(`${out}/factors`, Float32Array.from(perRow), [perRow.length, 1, 1]))
      decoded.graph.nodes.push(makeNode({ opType: "Mul", name: `${out}/by_hand/Mul`, inputs: [out, `${out}/factors`], outputs: [scaled] }))
    }
  }
}

describe("a params kind defined in a test", () => {
  it("scales blocks per row through HookedModel.run, as the same change made by hand; unfed = off value", async () => {
    const folder = "tiny-pixart-sigma/transformer"
    const inputs = await oracleInputs("denoiser-pixart")
    const hooked = await loadHookedModel(model(folder), { hooks: [blockScale], intraOpThreads: 2 })
    const [b3, b8] = ["transformer_blocks.3", "transformer_blocks.8"]
    expect(resolveLayers(hooked.index, ["blocks.3", "blocks.8"], { target: "block", mode: "strict" }).layers).toEqual([b3, b8])
    const feeds = controlFeeds(hooked.hook(BLOCK_SCALE), [undefined, { layers: [b3], value: 0.5 }, { layers: [b3, b8], value: 1.7 }])
    expect(Array.from((feeds["block_scale"] as Tensor<"float32">).data.slice(0, 12))).toEqual(new Array(12).fill(1))
    const out = (await hooked.run({ ...inputs, ...feeds }))["out_sample"]!
    const plain = (await hooked.run(inputs))["out_sample"]!
    const byHand = await editedSession(folder, scaleByHand({ [b3]: [1, 0.5, 1.7], [b8]: [1, 1, 1.7] }))
    const expected = (await byHand.run(inputs))["out_sample"]!
    const original = await editedSession(folder)
    const untouched = (await original.run(inputs))["out_sample"]!
    const error = relativeL2(out, expected)
    console.log(`params kind (block scale) vs by hand: relative L2 ${error.toExponential(2)}`)
    expect(error).toBeLessThan(1e-6)
    expect(maxAbsDiff(plain, untouched)).toBe(0)
    expect(maxAbsDiff(slice(out, 0, 0, 1), slice(untouched, 0, 0, 1))).toBe(0)
    expect(relativeL2(slice(out, 0, 1, 2), slice(untouched, 0, 1, 2))).toBeGreaterThan(1e-3)
    await Promise.all([hooked.release(), byHand.release(), original.release()])
  })
})
