import { readFile } from "node:fs/promises"
import { describe, expect, it } from "vitest"
import { rewriteModel } from "@pagkit/onnx"
import { Tensor } from "@pagkit/tensor"
import { IpAdapterWeightsError } from "./errors.js"
import { tinyModel } from "./internal/fixtures.js"
import { ipAdapterAttention, ipAdapterLayerOrder } from "./ip-adapter-attention.js"
import { parseIpAdapterWeights, readIpAdapterWeights } from "./ip-adapter-weights.js"
import type { IpAdapterWeights } from "./ip-adapter-weights.js"

const weightsPath = tinyModel("tiny-ip-adapter/ip-adapter_tiny-sdxl.safetensors")

describe("IP-Adapter weights", () => {
  it("reads the published layout: projection, 17 cross-attention layers numbered 2i + 1", async () => {
    const w = await readIpAdapterWeights(weightsPath)
    expect([w.numTokens, w.crossAttentionDim, w.imageEmbedDim, w.layers.length]).toEqual([4, 64, 32, 17])
    expect(w.layers.map((l) => l.toK.shape[0])).toEqual([32, 32, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 32, 32, 32, 64, 64])
  })

  it("orders cross-attention layers as diffusers' attn_processors: down, up, then mid", () => {
    const paths = ["mid_block.attentions.0.transformer_blocks.0.attn2", "up_blocks.1.attentions.10.transformer_blocks.0.attn2", "up_blocks.1.attentions.2.transformer_blocks.0.attn2", "down_blocks.2.attentions.0.transformer_blocks.1.attn2"]
    expect(ipAdapterLayerOrder(paths)).toEqual([paths[3], paths[2], paths[1], paths[0]])
  })

  it("rejects checkpoints that are not IP-Adapter base, or miss a layer's keys", () => {
    const t = Tensor.zeros([4, 2])
    expect(() => parseIpAdapterWeights(new Map([["image_proj.latents", t]]))).toThrow(/Plus/)
    const base = new Map<string, Tensor>([
      ["image_proj.proj.weight", Tensor.zeros([8, 3])],
      ["image_proj.proj.bias", Tensor.zeros([8])],
      ["image_proj.norm.weight", Tensor.zeros([4])],
      ["image_proj.norm.bias", Tensor.zeros([4])],
      ["ip_adapter.1.to_k_ip.weight", Tensor.zeros([6, 4])],
      ["ip_adapter.3.to_k_ip.weight", Tensor.zeros([6, 4])],
      ["ip_adapter.3.to_v_ip.weight", Tensor.zeros([6, 4])],
    ])
    expect(() => parseIpAdapterWeights(base)).toThrow(/ip_adapter\.1 with to_k_ip, no to_v_ip/)
    base.set("ip_adapter.1.to_v_ip.weight", Tensor.zeros([6, 5]))
    expect(() => parseIpAdapterWeights(base)).toThrow(/expected \[hidden, 4\]/)
  })

  it("names expected vs found when the weights do not fit the UNet", async () => {
    const w = await readIpAdapterWeights(weightsPath)
    const bytes = new Uint8Array(await readFile(tinyModel("tiny-sdxl/unet/model.onnx")))
    const fewer: IpAdapterWeights = { ...w, layers: w.layers.slice(0, 16) }
    expect(() => rewriteModel(bytes, [ipAdapterAttention(fewer)])).toThrow(IpAdapterWeightsError)
    expect(() => rewriteModel(bytes, [ipAdapterAttention(fewer)])).toThrow(/have 16 cross-attention layers.*the UNet has 17/)
    const swapped: IpAdapterWeights = { ...w, layers: [w.layers[2]!, w.layers[1]!, w.layers[0]!, ...w.layers.slice(3)] }
    expect(() => rewriteModel(bytes, [ipAdapterAttention(swapped)])).toThrow(/does not fit UNet layer down_blocks\.1\.attentions\.0\.transformer_blocks\.0\.attn2.*64 → 32.*→ 64/)
  })
})
