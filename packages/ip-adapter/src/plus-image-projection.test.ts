import { SafetensorsFile, Tensor, relativeL2 } from "@pagkit/tensor"
import { describe, expect, it } from "vitest"
import { tinyModel, tinyOracle } from "./internal/fixtures.js"
import { detectIpAdapterVariant, parseAnyIpAdapterWeights, readAnyIpAdapterWeights, readIpAdapterTensors } from "./ip-adapter-weights.js"
import type { IpAdapterPlusWeights } from "./ip-adapter-weights.js"
import { projectPlusHiddenStates } from "./plus-image-projection.js"
import { PlusProjectionSession } from "./plus-projection-session.js"

async function oracle(): Promise<{ hiddenStates: Tensor; imageTokens: Tensor }> {
  const file = await SafetensorsFile.open(tinyOracle("ip-adapter-plus-projection.safetensors"))
  try {
    return { hiddenStates: await file.read("hidden_states"), imageTokens: await file.read("image_tokens") }
  } finally {
    await file.close()
  }
}

describe("IP-Adapter Plus image projection", () => {
  it("reads every size from the weights (.bin and .safetensors alike)", async () => {
    for (const file of ["ip-adapter-plus_tiny-sdxl.bin", "ip-adapter-plus_tiny-sdxl.safetensors"]) {
      const w = (await readAnyIpAdapterWeights(tinyModel(`tiny-ip-adapter/${file}`))) as IpAdapterPlusWeights
      expect(w.variant).toBe("plus")
      const p = w.projection
      expect([p.numQueries, p.embedDim, p.hiddenDim, p.outputDim, p.heads, p.headDim, p.blocks.length, p.ffDim]).toEqual([16, 32, 48, 64, 2, 64, 2, 192])
      expect([w.crossAttentionDim, w.layers.length]).toEqual([64, 17])
    }
  })

  it("reproduces the torch Resampler output (relative L2 ≤ 1e-5), bit-identically from .bin and .safetensors", async () => {
    const { hiddenStates, imageTokens } = await oracle()
    const fromBin = (await readAnyIpAdapterWeights(tinyModel("tiny-ip-adapter/ip-adapter-plus_tiny-sdxl.bin"))) as IpAdapterPlusWeights
    const fromSt = (await readAnyIpAdapterWeights(tinyModel("tiny-ip-adapter/ip-adapter-plus_tiny-sdxl.safetensors"))) as IpAdapterPlusWeights
    const a = projectPlusHiddenStates(fromBin.projection, hiddenStates)
    const b = projectPlusHiddenStates(fromSt.projection, hiddenStates)
    expect(a.shape).toEqual([2, 16, 64])
    const err = relativeL2(a, imageTokens)
    console.log(`Plus projection relative L2 vs torch: ${err.toExponential(2)}`)
    expect(err).toBeLessThan(1e-5)
    expect(Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer))).toBe(true)
  })

  it("onnxruntime's graph of the projection matches torch too (≤ 1e-5), .bin and .safetensors bit for bit, rows folded the same way", async () => {
    const { hiddenStates, imageTokens } = await oracle()
    const sessions = await Promise.all(
      ["ip-adapter-plus_tiny-sdxl.bin", "ip-adapter-plus_tiny-sdxl.safetensors"].map(async (f) =>
        PlusProjectionSession.create(((await readAnyIpAdapterWeights(tinyModel(`tiny-ip-adapter/${f}`))) as IpAdapterPlusWeights).projection),
      ),
    )
    const [a, b] = await Promise.all(sessions.map((s) => s.project(hiddenStates)))
    const err = relativeL2(a!, imageTokens)
    console.log(`Plus projection (onnxruntime) relative L2 vs torch: ${err.toExponential(2)}`)
    expect(err).toBeLessThan(1e-5)
    expect(Buffer.from(a!.data.buffer).equals(Buffer.from(b!.data.buffer))).toBe(true)
    const grouped = await sessions[0]!.project(hiddenStates.reshape([1, 2, 65, 32]))
    expect(grouped.shape).toEqual([1, 32, 64])
    expect([...grouped.data]).toEqual([...a!.data])
    await expect(sessions[0]!.project(Tensor.zeros([1, 65, 31]))).rejects.toThrow(/penultimate/)
    for (const s of sessions) await s.release()
  })

  it("folds several images per row into n · queries tokens", async () => {
    const { hiddenStates } = await oracle()
    const w = (await readAnyIpAdapterWeights(tinyModel("tiny-ip-adapter/ip-adapter-plus_tiny-sdxl.safetensors"))) as IpAdapterPlusWeights
    const single = projectPlusHiddenStates(w.projection, hiddenStates) // [2, 16, 64]
    const grouped = projectPlusHiddenStates(w.projection, hiddenStates.reshape([1, 2, 65, 32])) // one row, two images
    expect(grouped.shape).toEqual([1, 32, 64])
    expect([...grouped.data]).toEqual([...single.data])
  })

  it("projects repeated rows once, with the same result as on their own", async () => {
    const { hiddenStates } = await oracle() // [2, 65, 32]: rows a, b
    const w = (await readAnyIpAdapterWeights(tinyModel("tiny-ip-adapter/ip-adapter-plus_tiny-sdxl.safetensors"))) as IpAdapterPlusWeights
    const row = 65 * 32
    const data = hiddenStates.data as Float32Array
    const aba = new Tensor("float32", Float32Array.from([...data.subarray(0, row), ...data.subarray(row), ...data.subarray(0, row)]), [3, 65, 32])
    const out = projectPlusHiddenStates(w.projection, aba).data
    const alone = projectPlusHiddenStates(w.projection, new Tensor("float32", data.slice(0, row), [1, 65, 32])).data
    const tokens = 16 * 64
    expect(Array.from(out.subarray(0, tokens))).toEqual(Array.from(alone))
    expect(Array.from(out.subarray(2 * tokens))).toEqual(Array.from(alone))
    expect(Array.from(out.subarray(tokens, 2 * tokens))).not.toEqual(Array.from(alone))
  })

  it("detects the variant from the keys and refuses FaceID / Full by name", async () => {
    expect(detectIpAdapterVariant(["image_proj.proj.weight"])).toBe("base")
    expect(detectIpAdapterVariant(["image_proj.latents"])).toBe("plus")
    const tensors = await readIpAdapterTensors(tinyModel("tiny-ip-adapter/ip-adapter-plus_tiny-sdxl.safetensors"))
    const faceid = new Map(tensors)
    faceid.set("image_proj.perceiver_resampler.proj_in.weight", Tensor.zeros([2, 2]))
    expect(() => parseAnyIpAdapterWeights(faceid, "faceid.bin")).toThrow(/FaceID Plus.*not support/)
    const extra = new Map(tensors)
    extra.set("image_proj.pos_emb.weight", Tensor.zeros([2, 2]))
    expect(() => parseAnyIpAdapterWeights(extra, "x.bin")).toThrow(/unexpected key "image_proj.pos_emb.weight"/)
    const missing = new Map(tensors)
    missing.delete("image_proj.layers.1.1.3.weight")
    expect(() => parseAnyIpAdapterWeights(missing, "x.bin")).toThrow(/no image_proj.layers.1.1.3.weight/)
  })
})
