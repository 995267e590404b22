import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { DataType, GraphEditor, createSession, encodeModel, identityAttention, makeTensorValueInfo } from "@pagkit/onnx"
import type { ModelProto, ModelSession } from "@pagkit/onnx"
import { Tensor, loadImage, readSafetensors, relativeL2 } from "@pagkit/tensor"
import { IpAdapterInputError } from "./errors.js"
import { tinyModel, tinyOracle } from "./internal/fixtures.js"
import { ipAdapterInputNames } from "./ip-adapter-attention.js"
import { addMaskSource, maskedOutput } from "./internal/ip-adapter-mask.js"
import { loadIpAdapterUnet } from "./ip-adapter-unet.js"
import type { IpAdapterUnet } from "./ip-adapter-unet.js"
import { loadIpAdapter } from "./ip-adapter.js"
import type { IpAdapter } from "./ip-adapter.js"
import { imageTokensForRows } from "./row-tokens.js"

const unetPath = tinyModel("tiny-sdxl/unet/model.onnx")

function bitsEqual(a: Tensor, b: Tensor): boolean {
  return a.data.length === b.data.length && (a.data as Float32Array).every((v, i) => Object.is(v, b.data[i]))
}

describe("several IP-Adapters at once, and masks", () => {
  let ip: IpAdapter
  let plus: IpAdapter
  let twice: IpAdapterUnet
  let masked: IpAdapterUnet
  let inputs: Record<string, Tensor>
  let rowTokens: Tensor<"float32">

  beforeAll(async () => {
    ip = await loadIpAdapter({ weights: tinyModel("tiny-ip-adapter/ip-adapter_tiny-sdxl.safetensors"), imageEncoder: tinyModel("tiny-ip-adapter/image_encoder") })
    plus = await loadIpAdapter({ weights: tinyModel("tiny-ip-adapter/ip-adapter-plus_tiny-sdxl.safetensors"), imageEncoder: tinyModel("tiny-ip-adapter/image_encoder") })
    const options = { hooks: [identityAttention()], intraOpThreads: 2 }
    twice = await loadIpAdapterUnet(unetPath, [ip, ip], options)
    masked = await loadIpAdapterUnet(unetPath, [ip, plus], { ...options, masks: true })
    const oracle = await readSafetensors(tinyOracle("denoiser-sdxl-unet.safetensors"))
    inputs = {}
    for (const [k, v] of oracle) if (k.startsWith("in.")) inputs[k.slice(3)] = v
    const rows = inputs["sample"]!.shape[0]!
    const tokens = await ip.prepareImageTokens({ image: await loadImage(tinyOracle("images/ip-ref-48x40.png")), doClassifierFreeGuidance: true })
    const layout = [{ conditioning: "uncond" }, { conditioning: "cond" }, { conditioning: "cond" }] as const
    rowTokens = imageTokensForRows(tokens, layout.slice(0, rows))
  })
  afterAll(async () => {
    for (const u of [twice, masked]) await u?.model.release()
  })

  const run = async (unet: IpAdapterUnet, tokens: readonly Tensor<"float32">[], masks?: readonly (Tensor<"float32"> | undefined)[]): Promise<Tensor> =>
    (await unet.model.run({ ...inputs, ...unet.feeds(tokens, { ...(masks === undefined ? {} : { masks }), sampleShape: inputs["sample"]!.shape }) }))["out_sample"]!

  it("adds inputs per adapter (adapter 0 keeps the single-adapter names)", () => {
    expect(ipAdapterInputNames(0)).toEqual({ tokens: "ip_adapter_image_tokens", scale: "ip_adapter_scale", mask: "ip_adapter_mask" })
    expect(twice.model.session.input("ip_adapter_image_tokens_1")?.shape).toEqual(["batch", "ip_adapter_tokens_1", 64])
    expect(twice.model.session.input("ip_adapter_scale_1")?.shape).toEqual([17])
    expect(twice.model.session.hasInput("ip_adapter_mask")).toBe(false)
    expect(masked.model.session.input("ip_adapter_mask_1")?.shape).toEqual([1, 1, "ip_adapter_mask_height_1", "ip_adapter_mask_width_1"])
  })

  it("two copies of one adapter with scales a and b equal the adapter once with a + b (same image)", async () => {
    // Σ_k scale_k · attn(Q, K_ip, V_ip) with identical weights and tokens is (a + b) · attn(Q, K_ip, V_ip);
    // "once" is the same graph with the second adapter at scale 0, which adds exactly 0
    twice.setIpAdapterScale([0.8, 0])
    const one = await run(twice, [rowTokens, rowTokens])
    twice.setIpAdapterScale([0.3, 0.5])
    const two = await run(twice, [rowTokens, rowTokens])
    expect(relativeL2(two, one)).toBeLessThan(1e-6)
    // and the second adapter does act: scale b = 0 differs
    twice.setIpAdapterScale([0.3, 0])
    expect(relativeL2(await run(twice, [rowTokens, rowTokens]), one)).toBeGreaterThan(1e-3)
    // per-block maps per adapter: 0.8 on up in one, 0.8 on down and mid in the other = 0.8 everywhere
    twice.setIpAdapterScale([{ up: 0.8 }, { down: 0.8, mid: 0.8 }])
    expect(relativeL2(await run(twice, [rowTokens, rowTokens]), one)).toBeLessThan(1e-6)
    // a mask-capable graph with the other adapter at 0 and no mask gives the same bits
    masked.setIpAdapterScale([0.8, 0])
    const plusTokens = Tensor.zeros([rowTokens.shape[0]!, 16, 64])
    expect(bitsEqual(await run(masked, [rowTokens, plusTokens]), one)).toBe(true)
  })

  it("scale lists follow diffusers: one per adapter; per-image lists are refused with what to do", () => {
    expect(() => twice.setIpAdapterScale(0.5)).toThrow(/1 IP-Adapter scale\(s\) given for 2.*one scale per adapter/)
    expect(() => twice.setIpAdapterScale([0.5, 0.5, 0.5])).toThrow(IpAdapterInputError)
    expect(() => twice.setIpAdapterScale([[0.7, 0.7] as unknown as number, 1])).toThrow(/per-image scales.*load the adapter once per image/)
    expect(() => masked.feeds([rowTokens, rowTokens])).toThrow(/needs the sample shape/)
    expect(() => twice.feeds([rowTokens])).toThrow(/1 image-token tensor\(s\) given for 2/)
    expect(() => twice.feeds([rowTokens, rowTokens], { masks: [Tensor.zeros([1, 1, 8, 8]), undefined] })).toThrow(/without mask inputs/)
  })

  it("masks: all-ones gives the unmasked output bit for bit; all-zeros equals scale 0; a half mask lies between", async () => {
    const layout = [{ conditioning: "uncond" }, { conditioning: "cond" }, { conditioning: "cond" }] as const
    const image = await loadImage(tinyOracle("images/ip-ref-48x40.png"))
    const plusTokens = imageTokensForRows(await plus.prepareImageTokens({ image, doClassifierFreeGuidance: true }), layout.slice(0, rowTokens.shape[0]))
    masked.setIpAdapterScale([0.6, 0.9])
    const reference = await run(masked, [rowTokens, plusTokens])
    // (ones of the latent's aspect ratio: other ratios pad some layers' token grids with 0, as in diffusers)
    const ones = new Tensor("float32", new Float32Array(64 * 64).fill(1), [1, 1, 64, 64])
    expect(bitsEqual(await run(masked, [rowTokens, plusTokens], [ones, ones]), reference)).toBe(true)
    // adapter 1 masked out everywhere = adapter 1 at scale 0
    masked.setIpAdapterScale([0.6, 0])
    const withoutSecond = await run(masked, [rowTokens, plusTokens])
    masked.setIpAdapterScale([0.6, 0.9])
    const zeros = Tensor.zeros([1, 1, 64, 48])
    expect(relativeL2(await run(masked, [rowTokens, plusTokens], [undefined, zeros]), withoutSecond)).toBeLessThan(1e-6)
    expect(relativeL2(reference, withoutSecond)).toBeGreaterThan(1e-3)
    const half = new Tensor("float32", Float32Array.from({ length: 64 * 48 }, (_, i) => (i % 48 < 24 ? 1 : 0)), [1, 1, 64, 48])
    const between = await run(masked, [rowTokens, plusTokens], [undefined, half])
    expect(relativeL2(between, reference)).toBeGreaterThan(1e-4)
    expect(relativeL2(between, withoutSecond)).toBeGreaterThan(1e-4)
  })

  it("downsamples masks to a layer's tokens as diffusers' IPAdapterMaskProcessor.downsample (torch bicubic)", async () => {
    // the mask nodes alone, on a one-layer graph whose "attention output" is an input: out = ip · downsample(mask)
    for (const [seq, h, w] of [[20, 48, 40], [64, 64, 64], [12, 64, 48], [7, 30, 50]] as const) {
      const mask = Tensor.zeros([1, 1, h, w])
      for (let i = 0; i < h * w; i++) mask.data[i] = Math.sin(i * 0.37) > 0.2 ? 1 : 0
      const session = await maskOnlyGraph()
      const ip = new Tensor("float32", Float32Array.from({ length: seq * 2 }, (_, i) => 1 + (i % 5) * 0.25), [1, seq, 2])
      const out = (await session.run({ ip, [ipAdapterInputNames(0).mask]: mask }))["out"]!
      const expected = downsampleReference(mask.data as Float32Array, h, w, seq)
      const got = Float32Array.from({ length: seq }, (_, s) => Number(out.data[s * 2]!) / Number(ip.data[s * 2]!))
      for (let s = 0; s < seq; s++) expect(got[s]!, `seq ${seq}, mask ${h}×${w}, token ${s}`).toBeCloseTo(expected[s]!, 5)
      await session.release()
    }
  })
})

/**
 * diffusers `IPAdapterMaskProcessor.downsample` with torch's `upsample_bicubic2d` (align_corners=False, A = −0.75,
 * indices clamped to the border), in float64.
 */
function downsampleReference(mask: Float32Array, inH: number, inW: number, seq: number): Float64Array {
  const ratio = inW / inH
  let mh = Math.trunc(Math.sqrt(seq / ratio))
  mh = mh + (seq % mh !== 0 ? 1 : 0)
  const mw = Math.trunc(seq / mh)
  const cubic = (t: number): [number, number, number, number] => {
    const A = -0.75
    const c1 = (x: number): number => ((A + 2) * x - (A + 3)) * x * x + 1
    const c2 = (x: number): number => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A
    return [c2(t + 1), c1(t), c1(1 - t), c2(2 - t)]
  }
  const at = (y: number, x: number): number => mask[Math.min(Math.max(y, 0), inH - 1) * inW + Math.min(Math.max(x, 0), inW - 1)]!
  const out = new Float64Array(seq)
  for (let oy = 0; oy < mh; oy++) {
    const ry = (oy + 0.5) * (inH / mh) - 0.5
    const iy = Math.floor(ry)
    const wy = cubic(ry - iy)
    for (let ox = 0; ox < mw; ox++) {
      const rx = (ox + 0.5) * (inW / mw) - 0.5
      const ix = Math.floor(rx)
      const wx = cubic(rx - ix)
      let v = 0
      for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) v += wy[a]! * wx[b]! * at(iy - 1 + a, ix - 1 + b)
      const flat = oy * mw + ox
      if (flat < seq) out[flat] = v
    }
  }
  return out // positions past mh · mw stay 0 (diffusers pads with zeros)
}

/** A graph `out = ip − ip · resize(1 − mask)` made of the hook's own mask nodes. */
async function maskOnlyGraph(): Promise<ModelSession> {
  const model: ModelProto = {
    irVersion: 8,
    opsetImports: [{ domain: "", version: 17 }],
    rest: [],
    graph: {
      name: "mask",
      nodes: [],
      inputs: [makeTensorValueInfo("ip", DataType.FLOAT, [1, "seq", 2])],
      outputs: [makeTensorValueInfo("out", DataType.FLOAT, [1, "seq", 2])],
      valueInfo: [],
      initializers: [],
      rest: [],
    },
  }
  const editor = new GraphEditor(model)
  const source = addMaskSource(editor, 0, ipAdapterInputNames(0).mask)
  const masked = maskedOutput(editor, "ip", source, "/mask", DataType.FLOAT)
  editor.addNodeOutputs("Identity", [masked], { base: "/out", outputs: 1 })
  model.graph.nodes[model.graph.nodes.length - 1]!.outputs[0] = "out"
  return createSession(encodeModel(model))
}
