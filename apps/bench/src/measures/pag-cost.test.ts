// Split = full with IP-Adapter inputs (per-row image tokens, shared scales): the check lives here because
// @pagkit/onnx cannot depend on @pagkit/ip-adapter. No timings are asserted.
import path from "node:path"
import { describe, expect, it } from "vitest"
import { SplitSession, identityAttention, loadHookedModel } from "@pagkit/onnx"
import { IP_ADAPTER_SCALE_INPUT, IP_ADAPTER_TOKENS_INPUT, ipAdapterAttention, readIpAdapterWeights } from "@pagkit/ip-adapter"
import { Tensor, relativeL2, slice } from "@pagkit/tensor"
import { tinyModelPath, tinyModelsDir } from "@pagkit/tiny-models"
import { denoiserInputs } from "./pag-cost.js"

function maxRowRelL2(actual: Tensor, expected: Tensor): number {
  let worst = 0
  for (let r = 0; r < expected.shape[0]!; r++) worst = Math.max(worst, relativeL2(slice(actual, 0, r, r + 1), slice(expected, 0, r, r + 1)))
  return worst
}

describe("split execution with IP-Adapter inputs", () => {
  it("equals the full hooked run (per-row image tokens, shared scales), CFG + PAG and PAG only", async () => {
    const source = path.join(tinyModelPath("tiny-sdxl"), "unet", "model.onnx")
    const weights = await readIpAdapterWeights(path.join(tinyModelsDir(), "tiny-ip-adapter", "ip-adapter_tiny-sdxl.safetensors"))
    const hooks = [identityAttention(), ipAdapterAttention(weights)]
    const hooked = await loadHookedModel(source, { hooks, intraOpThreads: 1 })
    const session = new SplitSession(hooked, { source, hooks, execution: "split", sessionOptions: { intraOpThreads: 1 } })
    const layers = hooked.layers("identity-attention").filter((p) => p.startsWith("mid_block."))
    for (const distinct of [[0, 1, 1], [1, 1]]) {
      const inputs = denoiserInputs(hooked, distinct, [32, 32])
      expect(inputs[IP_ADAPTER_TOKENS_INPUT]!.shape[0]).toBe(distinct.length)
      expect(inputs[IP_ADAPTER_SCALE_INPUT]!.shape).toEqual([hooked.layers("ip-adapter").length])
      const rows = distinct.map((_, r) => (r === distinct.length - 1 ? layers : []))
      const feeds = { ...inputs, pag_gates: hooked.gates("identity-attention", rows) }
      const full = (await hooked.run(feeds))["out_sample"]!
      const split = (await session.run(feeds))["out_sample"]!
      expect(session.lastRun).toMatchObject({ execution: "split", distinctRows: distinct.length - 1 })
      expect(maxRowRelL2(split, full)).toBeLessThanOrEqual(1e-6)
      // the image prompt matters: without it the output moves far beyond the tolerance
      const plain = (await hooked.run({ ...feeds, [IP_ADAPTER_SCALE_INPUT]: Tensor.zeros([...inputs[IP_ADAPTER_SCALE_INPUT]!.shape]) }))["out_sample"]!
      expect(relativeL2(plain, full)).toBeGreaterThan(1e-3)
    }
    await session.release()
  })
})
