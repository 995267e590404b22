import { readFile } from "node:fs/promises"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createSession, decodeModel, rewriteModel } from "@pagkit/onnx"
import { Tensor, loadImage, readSafetensors, relativeL2, slice } from "@pagkit/tensor"
import { IpAdapterModelError, IpAdapterWeightsError } from "./errors.js"
import { readIpAdapterWeights } from "./ip-adapter-weights.js"
import { ImageEncoder } from "./image-encoder.js"
import { tinyModel, tinyOracle } from "./internal/fixtures.js"
import { PENULTIMATE_HIDDEN_STATES, exposePenultimateHiddenStates } from "./internal/penultimate-output.js"
import { ipAdapterAttention } from "./ip-adapter-attention.js"
import { loadIpAdapter } from "./ip-adapter.js"
import type { IpAdapter } from "./ip-adapter.js"

const encoderModel = tinyModel("tiny-ip-adapter/image_encoder/model.onnx")

describe("IP-Adapter Plus", () => {
  let fromBin: IpAdapter
  let fromSafetensors: IpAdapter
  beforeAll(async () => {
    const common = { imageEncoder: tinyModel("tiny-ip-adapter/image_encoder"), featureExtractor: tinyModel("tiny-ip-adapter/feature_extractor") }
    fromBin = await loadIpAdapter({ weights: tinyModel("tiny-ip-adapter/ip-adapter-plus_tiny-sdxl.bin"), ...common })
    fromSafetensors = await loadIpAdapter({ weights: tinyModel("tiny-ip-adapter/ip-adapter-plus_tiny-sdxl.safetensors"), ...common })
  })
  afterAll(async () => {
    await fromBin.release()
    await fromSafetensors.release()
  })

  it("exposes hidden_states[-2] of a standard export: the output of encoder layer L-2", async () => {
    const model = decodeModel(new Uint8Array(await readFile(encoderModel)))
    // the tiny export also outputs transformers' hidden_states.{0..3}; drop them to look like a standard export
    expect(model.graph.outputs.map((o) => o.name)).toEqual(["image_embeds", "last_hidden_state", "hidden_states.0", "hidden_states.1", "hidden_states.2", "hidden_states.3"])
    model.graph.outputs = model.graph.outputs.slice(0, 2)
    const found = exposePenultimateHiddenStates(model, encoderModel)
    expect(found).toEqual({ module: "vision_model.encoder.layers.1", layers: 3 })
    const identity = model.graph.nodes.find((n) => n.outputs[0] === PENULTIMATE_HIDDEN_STATES)!
    // the exporter named CLIP's per-layer outputs hidden_states.{i}; layer 1 (of 0..2) produces hidden_states.2
    expect(identity.inputs).toEqual(["hidden_states.2"])
    expect(fromBin.imageEncoder!.hasHiddenStates).toBe(true)
    // numerically: what the edited session returns is transformers' own hidden_states[-2] output of the export
    const pixelValues = fromBin.preprocess(await loadImage(tinyOracle("images/ip-ref-48x40.png")))
    const exported = await createSession(encoderModel)
    const reference = (await exported.run({ pixel_values: pixelValues }, ["hidden_states.2"]))["hidden_states.2"]!
    await exported.release()
    const ours = await fromBin.imageEncoder!.encodeHiddenStates(pixelValues)
    expect(ours.shape).toEqual([1, 65, 32])
    expect(Array.from(ours.data)).toEqual(Array.from(reference.data as Float32Array))
  })

  it("says what to do when the encoder layers cannot be found", async () => {
    const model = decodeModel(new Uint8Array(await readFile(encoderModel)))
    for (const node of model.graph.nodes) node.name = ""
    expect(() => exposePenultimateHiddenStates(model, "stripped.onnx")).toThrow(IpAdapterModelError)
    expect(() => exposePenultimateHiddenStates(model, "stripped.onnx")).toThrow(/hidden_states\[-2\].*no node belongs to a module encoder\.layers\.N.*Export the image encoder/)
    const plain = await ImageEncoder.load(tinyModel("tiny-ip-adapter/image_encoder"))
    await expect(plain.encodeHiddenStates(Tensor.zeros([1, 3, 32, 32]))).rejects.toThrow(/penultimateHiddenStates: true/)
    await plain.release()
  })

  it("negative embeddings are the encoding of a zero image, not zeros; tokens are [B, n · 16, 64]", async () => {
    const image = await loadImage(tinyOracle("images/ip-ref-48x40.png"))
    const { positive, negative } = await fromBin.prepareImageEmbeds({ image, batchSize: 2 })
    expect(fromBin.variant).toBe("plus")
    expect(positive.shape).toEqual([2, 1, 65, 32])
    const zeroImage = await fromBin.imageEncoder!.encodeHiddenStates(Tensor.zeros([1, 3, 32, 32]))
    expect(Array.from(negative.data.subarray(0, zeroImage.size))).toEqual(Array.from(zeroImage.data))
    expect(Array.from(negative.data).some((v) => v !== 0)).toBe(true)
    const tokens = await fromBin.prepareImageTokens({ image, doClassifierFreeGuidance: true })
    expect(tokens.cond.shape).toEqual([1, 16, 64])
    expect(tokens.uncond.shape).toEqual([1, 16, 64])
    expect(relativeL2(tokens.cond, tokens.uncond)).toBeGreaterThan(1e-3)
  })

  it("gives bit-identical tokens from .bin and .safetensors, also from precomputed [negative; positive] hidden states", async () => {
    const image = await loadImage(tinyOracle("images/ip-ref-48x40.png"))
    const a = await fromBin.prepareImageTokens({ image })
    const b = await fromSafetensors.prepareImageTokens({ image })
    expect(Buffer.from(a.cond.data.buffer).equals(Buffer.from(b.cond.data.buffer))).toBe(true)
    expect(Buffer.from(a.uncond.data.buffer).equals(Buffer.from(b.uncond.data.buffer))).toBe(true)
    const hidden = (await readSafetensors(tinyOracle("ip-adapter-plus-projection.safetensors"))).get("hidden_states")! // [2, 65, 32]
    const pre = await fromBin.prepareImageTokens({ imageEmbeds: hidden, doClassifierFreeGuidance: true })
    expect(pre.cond.shape).toEqual([1, 16, 64])
    expect(Array.from(pre.uncond.data)).toEqual(Array.from((await fromBin.projectImageTokens(hidden)).data.subarray(0, 16 * 64)))
    // the fast (onnxruntime) projection and the JS float64 one agree to float32 rounding
    expect(relativeL2(pre.uncond, slice(fromBin.imageTokens(hidden), 0, 0, 1))).toBeLessThan(1e-5)
  })

  it("reads .bin files by their content: never a safetensors header error, and a hostile pickle is refused by name", async () => {
    const plusBin = tinyModel("tiny-ip-adapter/ip-adapter-plus_tiny-sdxl.bin")
    const error = (await readIpAdapterWeights(plusBin).catch((e: unknown) => e)) as Error
    expect(error.message).toMatch(/image_proj.proj.weight.*readAnyIpAdapterWeights/)
    expect(error.message).not.toMatch(/header length/)
    const exploit = (await loadIpAdapter({ weights: tinyModel("tiny-ip-adapter/pickle-exploit.bin") }).catch((e: unknown) => e)) as Error
    expect(exploit).toBeInstanceOf(IpAdapterWeightsError)
    expect(exploit.message).toContain("posix.system is not allowed in a weights-only load")
  })

  it("plugs into the same cross-attention hook as the base adapter", async () => {
    const bytes = new Uint8Array(await readFile(tinyModel("tiny-sdxl/unet/model.onnx")))
    const { hooks } = rewriteModel(bytes, [ipAdapterAttention(fromBin.weights)])
    expect(hooks.length).toBe(1)
  })
})
