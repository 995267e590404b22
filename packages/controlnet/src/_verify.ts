import { Tensor, TorchGenerator, concat, loadImage, readSafetensors, relativeL2 } from "@pagkit/tensor"
import { identityAttention, resolveLayers } from "@pagkit/onnx"
import { loadSdxl, prepareTextToImageLatents, timeIdsTensor } from "../../models-sdxl/src/index.js"
import { eulerSigma } from "../../models-sdxl/src/internal/euler.js"
import { loadControlNet } from "./controlnet-model.js"
import { prepareControlImage } from "./control-image.js"
import { MultiControlNet } from "./multi-controlnet.js"
const M = "/work/main/packages/tiny-models/models/", O = "/work/main/packages/tiny-models/oracles/"
const f32 = Math.fround
const model = await loadSdxl(M + "tiny-sdxl", { unet: M + "variants/unet-controlnet", hooks: [identityAttention()] })
const controlnet = await loadControlNet(M + "tiny-controlnet-sdxl")
const control = new MultiControlNet(model.unet.session, controlnet, { conditioningScale: 0.5 })
const oracle = await readSafetensors(O + "sdxl-controlnet-pag-noprompt.safetensors")
const image = await prepareControlImage(await loadImage(O + "images/control-edges-64.png"), { height: 64, width: 64, vaeScaleFactor: 2 })
const { layers } = resolveLayers(model.unet.layerIndex!, ["mid"])
const ts = [801, 601, 401, 201, 1]
const sigmas = ts.map(eulerSigma)
let latents = prepareTextToImageLatents({ batchSize: 1, height: 64, width: 64, vaeScaleFactor: 2, generator: new TorchGenerator(1), scheduler: { initNoiseSigma: Math.sqrt(sigmas[0]! ** 2 + 1) } })
const text = await model.encodePrompt({ prompt: "", doCfg: false })
const { timeIds } = model.timeIds({ originalSize: [64, 64], targetSize: [64, 64] })
for (let k = 0; k < 5; k++) {
  const s0 = sigmas[k]!, s1 = k < 4 ? sigmas[k + 1]! : 0
  const scaled = new Tensor("float32", latents.data.map((v) => f32(v / Math.sqrt(s0 ** 2 + 1))), latents.shape)
  const sample = concat([scaled, scaled]), ehs = concat([text.promptEmbeds, text.promptEmbeds]), te = concat([text.pooledPromptEmbeds, text.pooledPromptEmbeds]), tid = timeIdsTensor([timeIds, timeIds])
  const residuals = await control.residuals({ sample, timestep: ts[k]!, encoderHiddenStates: ehs, textEmbeds: te, timeIds: tid, controlImages: [image], stepIndex: k, numSteps: 5 })
  const eps = await model.unet.denoise({ sample, timestep: ts[k]!, encoderHiddenStates: ehs, textEmbeds: te, timeIds: tid, extra: residuals, hooks: [undefined, { "identity-attention": layers }] })
  const size = latents.size
  latents = new Tensor("float32", latents.data.map((x, i) => {
    const c = eps.data[i]!, p = eps.data[size + i]!
    const guided = f32(c + f32(3 * f32(c - p)))
    return f32(x + f32(guided * f32(s1 - s0)))
  }), latents.shape)
  console.log(`step${k} relL2`, relativeL2(latents, oracle.get(`latents.step${k}`)!), control.lastStats)
}
