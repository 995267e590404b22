import { readFile } from "node:fs/promises"
import { describe, expect, it } from "vitest"
import { Tensor, relativeL2 } from "@pagkit/tensor"
import { HookError } from "../errors.js"
import { model } from "../internal/fixtures.js"
import type { LayerIndex } from "../layers/layer-index.js"
import { decodeModel } from "../proto/decode.js"
import { DataType } from "../proto/types.js"
import { createSession } from "../session/create-session.js"
import type { GraphEditor } from "./graph-editor.js"
import type { HookKind } from "./hook-kind.js"
import { HookedModel } from "./hooked-model.js"
import { identityAttention } from "./identity-attention.js"
import { installHooks } from "./install.js"
import { rewriteModel } from "./load-hooked-model.js"
import { buildLayerIndex } from "../layers/layer-index.js"

/** A toy kind in the shape an outside package (IP-Adapter) would write: core' = core · (1 + scale[j]) on cross-attention. */
const crossScale: HookKind = {
  name: "cross-scale",
  version: 1,
  cacheKey: "toy",
  target: "cross-attention",
  layers: (index: LayerIndex) => index.crossAttention.map((a) => a.path),
  install(editor: GraphEditor, index: LayerIndex) {
    const layers = index.crossAttention
    editor.addInput("cross_scales", DataType.FLOAT, [layers.length])
    const one = editor.addFloat32("/toy/one", new Float32Array([1]), [])
    layers.forEach((layer, j) => {
      const base = `/toy/${layer.path}`
      const scale = editor.addNode("Gather", ["cross_scales", editor.addInt64(`${base}/j`, [j], [])], `${base}/Gather`)
      const factor = editor.addNode("Add", [scale, one], `${base}/Add`)
      const core = editor.inputOf(layer.toOut.matmulNode, 0)
      const scaled = editor.addNode("Mul", [core, factor], `${base}/Mul`)
      editor.rewire(layer.toOut.matmulNode, 0, core, scaled)
    })
    return {
      kind: "cross-scale",
      layers: layers.map((a) => a.path),
      inputs: [{ name: "cross_scales", layout: "scales", description: "toy" }],
    }
  },
}

function feeds(): Record<string, Tensor> {
  const n = (k: number) => Array.from({ length: k }, (_, i) => Math.sin(i * 0.37))
  return {
    sample: Tensor.fromArray(n(2 * 4 * 8 * 8), [2, 4, 8, 8]),
    timestep: Tensor.fromArray([500]),
    encoder_hidden_states: Tensor.fromArray(n(2 * 7 * 64), [2, 7, 64]),
    text_embeds: Tensor.fromArray(n(64), [2, 32]),
    time_ids: Tensor.fromArray([16, 16, 0, 0, 16, 16, 16, 16, 0, 0, 16, 16], [2, 6]),
  }
}

describe("hook kinds from outside the package", () => {
  it("compose with identity attention; scale/gates 0 give the original output", async () => {
    const file = model("tiny-sdxl/unet")
    const rewritten = rewriteModel(new Uint8Array(await readFile(file)), [crossScale, identityAttention()])
    expect(rewritten.hooks.map((h) => h.kind)).toEqual(["cross-scale", "identity-attention"])
    const session = await createSession(rewritten.bytes)
    const hooked = new HookedModel(session, rewritten.index, rewritten.hooks)
    const original = await createSession(file)
    const reference = (await original.run(feeds()))["out_sample"]!
    const off = (await hooked.run(feeds()))["out_sample"]! // both control inputs default to zeros
    expect(relativeL2(off, reference)).toBe(0)
    const scales = Tensor.fromArray(Array.from({ length: 17 }, () => 0.5))
    const on = (await hooked.run({ ...feeds(), cross_scales: scales }))["out_sample"]!
    expect(relativeL2(on, reference)).toBeGreaterThan(1e-3)
    await session.release()
    await original.release()
  })

  it("refuses duplicate kinds and a second installation of the same input", async () => {
    const decoded = decodeModel(new Uint8Array(await readFile(model("tiny-pixart-sigma/transformer"))))
    const index = buildLayerIndex(decoded)
    expect(() => installHooks(decoded, index, [identityAttention(), identityAttention()])).toThrow(/given twice/)
    installHooks(decoded, index, [identityAttention()])
    expect(() => installHooks(decoded, index, [identityAttention()])).toThrow(HookError)
  })
})
