import { copyFileSync, mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { tinyModelsDir, tinyOraclesDir } from "@pagkit/tiny-models"
import { SafetensorsFile, Tensor, writeSafetensors } from "@pagkit/tensor"
import { runConformance } from "../run.js"
import { ipAdapterPlusProjectionKind } from "./ip-adapter-plus-projection.js"

const context = { modelsDir: tinyModelsDir(), log: () => {} }
const kinds = [ipAdapterPlusProjectionKind]

async function readAll(file: string): Promise<Record<string, Tensor>> {
  const handle = await SafetensorsFile.open(file)
  try {
    const out: Record<string, Tensor> = {}
    for (const name of handle.names) out[name] = await handle.read(name)
    return out
  } finally {
    await handle.close()
  }
}

/** Deterministic pseudo-random values in [-scale, scale]. */
function values(n: number, seed: number, scale = 0.3): Float32Array {
  let s = seed
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648
    return (s / 2147483648 - 0.5) * 2 * scale
  })
}

describe("ip-adapter-plus-projection kind", () => {
  it("passes the fixture, with weights beside the case taking precedence, and fails tampered tokens", async () => {
    const summary = await runConformance({ oracleDir: tinyOraclesDir(), kinds, context, filter: "ip-adapter-plus" })
    expect(summary.failed).toBe(0)
    expect(summary.passed).toBe(3) // the projection (JS and onnxruntime), and .safetensors vs .bin bit-identical

    const dir = mkdtempSync(path.join(tmpdir(), "pagkit-plus-"))
    const tensors = await readAll(path.join(tinyOraclesDir(), "ip-adapter-plus-projection.safetensors"))
    const tokens = tensors["image_tokens"]!.clone()
    ;(tokens.data as Float32Array)[5]! += 0.05
    const meta = JSON.stringify({ kind: "ip-adapter-plus-projection", weights: "adapter.bin" })
    copyFileSync(path.join(tinyModelsDir(), "tiny-ip-adapter/ip-adapter-plus_tiny-sdxl.bin"), path.join(dir, "adapter.bin"))
    await writeSafetensors(path.join(dir, "tampered.safetensors"), { ...tensors, image_tokens: tokens }, { meta })
    const tampered = await runConformance({ oracleDir: dir, kinds, context })
    expect(tampered.failed).toBe(2) // both projections see the tampered tokens
    expect(tampered.results[0]!.name).toContain("adapter.bin")
  })

  it("runs other shapes: sizes come from the weights (and meta.heads sets the head size)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pagkit-plus-"))
    const [queries, embed, hidden, out, inner, ff, depth, seq, batch] = [5, 24, 40, 36, 96, 80, 3, 7, 3]
    const w: Record<string, Tensor> = {
      "image_proj.latents": new Tensor("float32", values(queries * hidden, 1), [1, queries, hidden]),
      "image_proj.proj_in.weight": new Tensor("float32", values(hidden * embed, 2), [hidden, embed]),
      "image_proj.proj_in.bias": new Tensor("float32", values(hidden, 3), [hidden]),
      "image_proj.proj_out.weight": new Tensor("float32", values(out * hidden, 4), [out, hidden]),
      "image_proj.proj_out.bias": new Tensor("float32", values(out, 5), [out]),
      "image_proj.norm_out.weight": new Tensor("float32", values(out, 6, 1), [out]),
      "image_proj.norm_out.bias": new Tensor("float32", values(out, 7), [out]),
      "ip_adapter.1.to_k_ip.weight": new Tensor("float32", values(8 * out, 8), [8, out]),
      "ip_adapter.1.to_v_ip.weight": new Tensor("float32", values(8 * out, 9), [8, out]),
    }
    for (let i = 0; i < depth; i++) {
      const p = `image_proj.layers.${i}`
      for (const norm of [`${p}.0.norm1`, `${p}.0.norm2`, `${p}.1.0`]) {
        w[`${norm}.weight`] = new Tensor("float32", values(hidden, 10 + i, 1), [hidden])
        w[`${norm}.bias`] = new Tensor("float32", values(hidden, 20 + i), [hidden])
      }
      w[`${p}.0.to_q.weight`] = new Tensor("float32", values(inner * hidden, 30 + i), [inner, hidden])
      w[`${p}.0.to_kv.weight`] = new Tensor("float32", values(2 * inner * hidden, 40 + i), [2 * inner, hidden])
      // zero attention output and feed-forward output: every block leaves the latents as they are, so the tokens
      // are norm_out(proj_out(latents)) for every row, whatever the hidden states
      w[`${p}.0.to_out.weight`] = Tensor.zeros([hidden, inner])
      w[`${p}.1.1.weight`] = new Tensor("float32", values(ff * hidden, 50 + i), [ff, hidden])
      w[`${p}.1.3.weight`] = Tensor.zeros([hidden, ff])
    }
    // weights outside the oracle folder (a .safetensors there would be discovered as a case), named relatively
    const weightsDir = mkdtempSync(path.join(tmpdir(), "pagkit-plus-weights-"))
    await writeSafetensors(path.join(weightsDir, "other-plus.safetensors"), w)
    const latents = w["image_proj.latents"]!.data as Float32Array
    const projOut = w["image_proj.proj_out.weight"]!.data as Float32Array
    const expected = new Float32Array(batch * queries * out)
    for (let q = 0; q < queries; q++) {
      const row = Array.from({ length: out }, (_, o) => {
        let acc = (w["image_proj.proj_out.bias"]!.data as Float32Array)[o]!
        for (let k = 0; k < hidden; k++) acc += latents[q * hidden + k]! * projOut[o * hidden + k]!
        return acc
      })
      const mean = row.reduce((a, b) => a + b, 0) / out
      const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / out
      const normed = row.map((v, o) => ((v - mean) / Math.sqrt(variance + 1e-5)) * (w["image_proj.norm_out.weight"]!.data as Float32Array)[o]! + (w["image_proj.norm_out.bias"]!.data as Float32Array)[o]!)
      for (let b = 0; b < batch; b++) expected.set(normed, (b * queries + q) * out)
    }
    const meta = JSON.stringify({ kind: "ip-adapter-plus-projection", weights: path.relative(dir, path.join(weightsDir, "other-plus.safetensors")), heads: 3 })
    await writeSafetensors(
      path.join(dir, "case.safetensors"),
      { hidden_states: new Tensor("float32", values(batch * seq * embed, 99, 2), [batch, seq, embed]), image_tokens: new Tensor("float32", expected, [batch, queries, out]) },
      { meta },
    )
    const summary = await runConformance({ oracleDir: dir, kinds, context })
    expect(summary.results[0]!.detail).toContain("queries 5, heads 3×32, depth 3, widths 24→40→36, ff 80")
    expect(summary.failed).toBe(0)
    expect(summary.passed).toBe(2) // JS and onnxruntime projections
  })
})
