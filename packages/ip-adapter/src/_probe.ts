import { loadHookedModel, identityAttention, createSession } from "@pagkit/onnx"
import { Tensor, relativeL2, readSafetensors } from "@pagkit/tensor"
import { readIpAdapterWeights } from "./ip-adapter-weights.js"
import { ipAdapterAttention } from "./ip-adapter-attention.js"
import { projectImageEmbeds } from "./image-projection.js"
const M = "/work/main/packages/tiny-models/models/"
const w = await readIpAdapterWeights(M + "tiny-ip-adapter/ip-adapter_tiny-sdxl.safetensors")
console.log(w.numTokens, w.crossAttentionDim, w.imageEmbedDim, w.layers.length)
let t0 = Date.now()
const hooked = await loadHookedModel(M + "tiny-sdxl/unet/model.onnx", { hooks: [identityAttention(), ipAdapterAttention(w)] })
console.log("load ms", Date.now() - t0, hooked.layers("ip-adapter"))
const plain = await createSession(M + "tiny-sdxl/unet/model.onnx")
const o = await readSafetensors("/work/main/packages/tiny-models/oracles/denoiser-sdxl-unet.safetensors")
const inputs: Record<string, Tensor> = {}
for (const [k, v] of o) if (k.startsWith("in.")) inputs[k.slice(3)] = v
console.log(Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.shape])))
const B = inputs["sample"]!.shape[0]!
const e = await readSafetensors("/work/main/packages/tiny-models/oracles/ip-adapter-image-embeds.safetensors")
const emb = e.get("embeds.0")!
const tok2 = projectImageEmbeds(w, emb)
const tokens = new Tensor("float32", new Float32Array(B * tok2.shape[1]! * 64), [B, tok2.shape[1]!, 64])
tokens.data.set(tok2.data.subarray(0, tok2.size / 2), 0); for (let b = 1; b < B; b++) tokens.data.set(tok2.data.subarray(tok2.size / 2), b * tok2.size / 2)
const ref = (await plain.run(inputs))["out_sample"]!
const zero = (await hooked.run({ ...inputs, ip_adapter_image_tokens: tokens, ip_adapter_scale: Tensor.zeros([17]) }))["out_sample"]!
const s = (await hooked.run({ ...inputs, ip_adapter_image_tokens: tokens, ip_adapter_scale: new Tensor("float32", new Float32Array(17).fill(0.8), [17]) }))["out_sample"]!
console.log("scale0 vs plain", relativeL2(zero, ref), "scale0.8 vs plain", relativeL2(s, ref))
