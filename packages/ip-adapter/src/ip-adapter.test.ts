import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createSession, identityAttention } from "@pagkit/onnx"
import type { ModelSession } from "@pagkit/onnx"
import { Tensor, concat, loadImage, maxAbs, readSafetensors, relativeL2, slice, toFloat16, toFloat32 } from "@pagkit/tensor"
import { IpAdapterInputError } from "./errors.js"
import { tinyModel, tinyOracle } from "./internal/fixtures.js"
import { IP_ADAPTER_SCALE_INPUT, IP_ADAPTER_TOKENS_INPUT } from "./ip-adapter-attention.js"
import { expandIpAdapterScale } from "./ip-adapter-scale.js"
import { loadIpAdapterUnet } from "./ip-adapter-unet.js"
import type { IpAdapterUnet } from "./ip-adapter-unet.js"
import { loadIpAdapter } from "./ip-adapter.js"
import type { IpAdapter } from "./ip-adapter.js"
import { imageTokensForRows } from "./row-tokens.js"

const unetPath = tinyModel("tiny-sdxl/unet/model.onnx")

describe("IP-Adapter", () => {
  let ip: IpAdapter
  let unet: IpAdapterUnet
  let plain: ModelSession
  let oracle: Map<string, Tensor>
  let inputs: Record<string, Tensor>

  beforeAll(async () => {
    ip = await loadIpAdapter({
      weights: tinyModel("tiny-ip-adapter/ip-adapter_tiny-sdxl.safetensors"),
      imageEncoder: tinyModel("tiny-ip-adapter/image_encoder"),
      featureExtractor: tinyModel("tiny-ip-adapter/feature_extractor"),
    })
    unet = await loadIpAdapterUnet(unetPath, ip, { hooks: [identityAttention()], intraOpThreads: 2 })
    plain = await createSession(unetPath, { intraOpThreads: 2 })
    oracle = await readSafetensors(tinyOracle("denoiser-sdxl-unet.safetensors"))
    inputs = {}
    for (const [k, v] of oracle) if (k.startsWith("in.")) inputs[k.slice(3)] = v
  })
  afterAll(async () => {
    await unet.model.release()
    await plain.release()
  })

  it("image embeddings [negative; positive] match the oracle (rel L2 ≤ 1e-4)", async () => {
    const expected = (await readSafetensors(tinyOracle("ip-adapter-image-embeds.safetensors"))).get("embeds.0")!
    const { positive, negative } = await ip.prepareImageEmbeds({ image: await loadImage(tinyOracle("images/ip-ref-48x40.png")) })
    expect(positive.shape).toEqual([1, 1, 32])
    expect(relativeL2(concat([negative, positive]), expected)).toBeLessThan(1e-4)
    // precomputed embeddings in diffusers' CFG layout give the same halves back
    const again = await ip.prepareImageEmbeds({ imageEmbeds: expected, doClassifierFreeGuidance: true, batchSize: 2 })
    expect(again.positive.shape).toEqual([2, 1, 32])
    expect(Array.from(again.negative.data).every((v) => v === 0)).toBe(true)
  })

  it("projects embeddings to LayerNorm-ed tokens [B, T, C]; zero embeddings give the projection of zeros", () => {
    const tokens = ip.imageTokens(Tensor.zeros([2, 1, 32]))
    expect(tokens.shape).toEqual([2, 4, 64])
    // LayerNorm output per token: mean ≈ beta mean, and rows identical for identical embeddings
    expect(Array.from(slice(tokens, 0, 0, 1).data)).toEqual(Array.from(slice(tokens, 0, 1, 2).data))
    expect(() => ip.imageTokens(Tensor.zeros([1, 31]))).toThrow(IpAdapterInputError)
  })

  it("reads float16 embeddings as values, not as half bit patterns", async () => {
    const expected = (await readSafetensors(tinyOracle("ip-adapter-image-embeds.safetensors"))).get("embeds.0")!
    const embeds32 = toFloat32(toFloat16(expected)) // the float16 values, as float32
    const half = toFloat16(expected)
    const prepared = await ip.prepareImageEmbeds({ imageEmbeds: half, doClassifierFreeGuidance: true })
    const reference = await ip.prepareImageEmbeds({ imageEmbeds: embeds32, doClassifierFreeGuidance: true })
    expect(maxAbs(reference.positive)).toBeGreaterThan(0)
    expect(Array.from(prepared.positive.data)).toEqual(Array.from(reference.positive.data))
    expect(Array.from(ip.imageTokens(half).data)).toEqual(Array.from(ip.imageTokens(embeds32).data))
  })

  it("scale 0 reproduces the plain UNet; scale 0.8 changes it; PAG gates still reproduce diffusers", async () => {
    const rows = inputs["sample"]!.shape[0]!
    const { positive, negative } = await ip.prepareImageEmbeds({ image: await loadImage(tinyOracle("images/ip-ref-48x40.png")) })
    const layout = [{ conditioning: "uncond" }, { conditioning: "cond" }, { conditioning: "cond" }] as const
    const rowTokens = imageTokensForRows({ cond: ip.imageTokens(positive), uncond: ip.imageTokens(negative) }, layout.slice(0, rows))
    const reference = (await plain.run(inputs))["out_sample"]!
    unet.setIpAdapterScale(0)
    const off = (await unet.model.run({ ...inputs, ...unet.feeds(rowTokens) }))["out_sample"]!
    expect(relativeL2(off, reference)).toBeLessThanOrEqual(1e-6)
    unet.setIpAdapterScale(0.8)
    const on = (await unet.model.run({ ...inputs, ...unet.feeds(rowTokens) }))["out_sample"]!
    expect(relativeL2(on, reference)).toBeGreaterThan(1e-2)
    // only the layers a scale map names are active
    unet.setIpAdapterScale({ mid: 0.8 })
    expect(Object.entries(unet.scaleByLayer).filter(([, s]) => s !== 0).map(([l]) => l)).toEqual([
      "mid_block.attentions.0.transformer_blocks.0.attn2",
      "mid_block.attentions.0.transformer_blocks.1.attn2",
    ])
    const midOnly = (await unet.model.run({ ...inputs, ...unet.feeds(rowTokens) }))["out_sample"]!
    expect(relativeL2(midOnly, reference)).toBeGreaterThan(1e-4)
    expect(relativeL2(midOnly, on)).toBeGreaterThan(1e-4)
    // with scale 0 the identity-attention gates still give diffusers' PAG output
    unet.setIpAdapterScale(0)
    const cases = JSON.parse((await import("node:fs")).readFileSync(tinyOracle("denoiser-sdxl-unet.json"), "utf8")).cases as Record<string, { layers: string[] }>
    const [name, c] = Object.entries(cases)[0]!
    const pag = (await unet.model.run({ ...inputs, ...unet.feeds(rowTokens), pag_gates: unet.model.gates("identity-attention", [[], [], c.layers]) }))["out_sample"]!
    expect(relativeL2(pag, oracle.get(`out.cfg.${name}`)!)).toBeLessThan(1e-4)
  })

  it("expands per-block scales like diffusers (unnamed layers 0) and rejects unknown keys", () => {
    const scales = expandIpAdapterScale(unet.layers, { down: { block_2: [0, 1] }, up: { block_0: [0, 1, 0] } })
    const on = unet.layers.filter((_, i) => scales[i] === 1)
    expect(on).toEqual([
      "down_blocks.2.attentions.1.transformer_blocks.0.attn2",
      "down_blocks.2.attentions.1.transformer_blocks.1.attn2",
      "up_blocks.0.attentions.1.transformer_blocks.0.attn2",
      "up_blocks.0.attentions.1.transformer_blocks.1.attn2",
    ])
    expect(() => expandIpAdapterScale(unet.layers, { sideways: 1 })).toThrow(IpAdapterInputError)
    expect(() => expandIpAdapterScale(unet.layers, { down: { block_7: 1 } })).toThrow(/matches none/)
  })

  it("adds the tokens and scale inputs, and unloads back to the plain graph with the other hooks", async () => {
    const info = unet.model.session.input(IP_ADAPTER_TOKENS_INPUT)
    expect(info?.shape).toEqual(["batch", "ip_adapter_tokens", 64])
    expect(unet.model.session.input(IP_ADAPTER_SCALE_INPUT)?.shape).toEqual([17])
    const other = await loadIpAdapterUnet(unetPath, ip, { hooks: [identityAttention()] })
    const unloaded = await other.unloadIpAdapter()
    expect(unloaded.session.hasInput(IP_ADAPTER_TOKENS_INPUT)).toBe(false)
    expect(unloaded.session.hasInput("pag_gates")).toBe(true)
    const out = (await unloaded.run(inputs))["out_sample"]!
    expect(relativeL2(out, oracle.get("out.plain")!)).toBeLessThan(1e-6)
    await unloaded.release()
  })

  it("dynamo and fp16 exports give the legacy export's IP-Adapter output", async () => {
    const embeds = (await readSafetensors(tinyOracle("ip-adapter-image-embeds.safetensors"))).get("embeds.0")!
    const [negative, positive] = [slice(embeds, 0, 0, 1), slice(embeds, 0, 1, 2)]
    const rows = imageTokensForRows({ cond: ip.imageTokens(positive), uncond: ip.imageTokens(negative) }, [
      { conditioning: "uncond" },
      { conditioning: "cond" },
      { conditioning: "cond" },
    ])
    unet.setIpAdapterScale(0.8)
    const legacy = (await unet.model.run({ ...inputs, ...unet.feeds(rows) }))["out_sample"]!
    expect(relativeL2(legacy, oracle.get("out.plain")!)).toBeGreaterThan(1e-2)
    for (const [folder, tolerance] of [["variants/unet-dynamo", 1e-5], ["variants/unet-fp16", 3e-3]] as const) {
      const other = await loadIpAdapterUnet(tinyModel(`${folder}/model.onnx`), ip, { intraOpThreads: 2 })
      other.setIpAdapterScale(0.8)
      const out = (await other.model.run({ ...inputs, ...other.feeds(rows) }))["out_sample"]!
      expect(relativeL2(out, legacy), folder).toBeLessThan(tolerance)
      await other.model.release()
    }
  })
})
