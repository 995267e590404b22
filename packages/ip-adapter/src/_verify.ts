import { Tensor, TorchGenerator, loadImage, readSafetensors, relativeL2 } from "@pagkit/tensor"
import { identityAttention, resolveLayers } from "@pagkit/onnx"
import { loadSdxl, prepareTextToImageLatents, timeIdsTensor } from "../../models-sdxl/src/index.js"
import { eulerSigma } from "../../models-sdxl/src/internal/euler.js"
import { loadIpAdapter } from "./ip-adapter.js"
import { imageTokensForRows } from "./row-tokens.js"
import { ipAdapterLayerOrder } from "./ip-adapter-attention.js"
import { ipAdapterScaleTensor } from "./ip-adapter-scale.js"
const M = "/work/main/packages/tiny-models/models/", O = "/work/main/packages/tiny-models/oracles/"
const f32 = Math.fround
const ip = await loadIpAdapter({ weights: M + "tiny-ip-adapter/ip-adapter_tiny-sdxl.safetensors", imageEncoder: M + "tiny-ip-adapter/image_encoder", featureExtractor: M + "tiny-ip-adapter/feature_extractor" })
const model = await loadSdxl(M + "tiny-sdxl", { hooks: [identityAttention(), ip.hook()] })
const oracle = await readSafetensors(O + "sdxl-ipadapter-pag.safetensors")
const emb = await readSafetensors(O + "ip-adapter-image-embeds.safetensors")
const { positive, negative } = await ip.prepareImageEmbeds({ image: await loadImage(O + "images/ip-ref-48x40.png") })
const cfgEmbeds = new Tensor("float32", new Float32Array([...negative.data, ...positive.data]), [2, 1, 32])
console.log("embeds relL2", relativeL2(cfgEmbeds, emb.get("embeds.0")!))
const tokens = { cond: ip.imageTokens(positive), uncond: ip.imageTokens(negative) }
const rows = [{ conditioning: "uncond" }, { conditioning: "cond" }, { conditioning: "cond" }] as const
const rowTokens = imageTokensForRows(tokens, rows)
const layersIp = ipAdapterLayerOrder(model.unet.layerIndex!.crossAttention.map((a) => a.path))
const { layers } = resolveLayers(model.unet.layerIndex!, ["mid"])
const sigmas = [801, 601, 401, 201, 1].map(eulerSigma)
let latents = prepareTextToImageLatents({ batchSize: 1, height: 64, width: 64, vaeScaleFactor: 2, generator: new TorchGenerator(0), scheduler: { initNoiseSigma: Math.sqrt(sigmas[0]! ** 2 + 1) } })
const text = await model.encodePrompt({ prompt: "a polar bear sitting in a chair drinking a milkshake", negativePrompt: "deformed, ugly, wrong proportion, low res, bad anatomy, worst quality, low quality", doCfg: true })
const { timeIds, negativeTimeIds } = model.timeIds({ originalSize: [64, 64], targetSize: [64, 64] })
const ts = [801, 601, 401, 201, 1]
for (let k = 0; k < 5; k++) {
  const s0 = sigmas[k]!, s1 = k < 4 ? sigmas[k + 1]! : 0
  const scaled = new Tensor("float32", latents.data.map((v) => f32(v / Math.sqrt(s0 ** 2 + 1))), latents.shape)
  const eps = await model.unet.denoiseRows(
    [
      { sample: scaled, encoderHiddenStates: text.negativePromptEmbeds!, textEmbeds: text.negativePooledPromptEmbeds!, timeIds: timeIdsTensor([negativeTimeIds]) },
      { sample: scaled, encoderHiddenStates: text.promptEmbeds, textEmbeds: text.pooledPromptEmbeds, timeIds: timeIdsTensor([timeIds]) },
      { sample: scaled, encoderHiddenStates: text.promptEmbeds, textEmbeds: text.pooledPromptEmbeds, timeIds: timeIdsTensor([timeIds]), hooks: { "identity-attention": layers } },
    ].map((r, i) => ({ ...r, extra: { ip_adapter_image_tokens: new Tensor("float32", rowTokens.data.slice(i * rowTokens.size / 3, (i + 1) * rowTokens.size / 3), [1, ...rowTokens.shape.slice(1)]) } })),
    ts[k]!,
    { ip_adapter_scale: ipAdapterScaleTensor(layersIp, 0.8) },
  )
  const size = latents.size
  latents = new Tensor("float32", latents.data.map((x, i) => {
    const u = eps.data[i]!, c = eps.data[size + i]!, p = eps.data[2 * size + i]!
    const guided = f32(f32(u + f32(3 * f32(c - u))) + f32(5 * f32(c - p)))
    return f32(x + f32(guided * f32(s1 - s0)))
  }), latents.shape)
  console.log(`step${k} relL2`, relativeL2(latents, oracle.get(`latents.step${k}`)!))
}
