import { describe, expect, it } from "vitest"
import { Tensor, readSafetensors, slice } from "@pagkit/tensor"
import { createSession, identityAttention, loadHookedModel, resolveLayers } from "@pagkit/onnx"
import { HookableDenoiser } from "./denoiser.js"
import { hookedDenoiserOptions } from "./hooked-denoiser.js"
import { ModelInputError } from "./errors.js"
import { tinyModel, tinyOracle } from "./internal/fixtures.js"
import type { SessionIo, SessionLike } from "./session.js"

function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0
  let den = 0
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2
    den += b[i]! ** 2
  }
  return Math.sqrt(num / den)
}

/** A session stand-in that records its feeds and returns zeros shaped like `sample`. */
function fakeSession(inputs: SessionIo[]): SessionLike & { feeds: Record<string, Tensor>[] } {
  const feeds: Record<string, Tensor>[] = []
  return {
    feeds,
    inputs,
    outputs: [{ name: "out_sample", dtype: "float32", shape: ["batch", 4, "h", "w"] }],
    hasInput: (name) => inputs.some((i) => i.name === name),
    run: async (f) => {
      feeds.push({ ...f })
      return { out_sample: Tensor.zeros(f["sample"]!.shape) }
    },
  }
}

const io = (name: string, dtype: string, shape: (number | string)[]): SessionIo => ({ name, dtype, shape })

describe("HookableDenoiser", () => {
  it("reproduces the UNet oracle's plain output from a batch of 3 rows", async () => {
    const oracle = await readSafetensors(tinyOracle("denoiser-sdxl-unet.safetensors"))
    const session = await createSession(`${tinyModel("tiny-sdxl")}/unet/model.onnx`)
    const unet = new HookableDenoiser({ session, name: "unet" })
    const inputs = {
      sample: oracle.get("in.sample")!,
      encoder_hidden_states: oracle.get("in.encoder_hidden_states")!,
      text_embeds: oracle.get("in.text_embeds")!,
      time_ids: oracle.get("in.time_ids")!,
    }
    const timestep = Number(oracle.get("in.timestep")!.data[0])
    const out = await unet.runBatch({ inputs, timestep })
    expect(out.shape).toEqual([3, 4, 32, 32])
    expect(relativeL2(out.data, oracle.get("out.plain")!.data as Float32Array)).toBeLessThan(1e-5)
    // row by row gives the same
    const rows = [0, 1, 2].map((r) => ({
      inputs: Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, slice(t, 0, r, r + 1)])),
    }))
    const byRows = await unet.runRows(rows, timestep)
    expect(relativeL2(byRows.data, out.data)).toBeLessThan(1e-6)
    await session.release()
  })

  it("runs PAG rows on a hooked UNet: the denoiser oracle's cfg and nocfg cases", async () => {
    const oracle = await readSafetensors(tinyOracle("denoiser-sdxl-unet.safetensors"))
    const hooked = await loadHookedModel(`${tinyModel("tiny-sdxl")}/unet/model.onnx`, { hooks: [identityAttention()] })
    const unet = new HookableDenoiser({ ...hookedDenoiserOptions(hooked), name: "unet" })
    expect(unet.hookKinds).toEqual(["identity-attention"])
    expect(unet.layers("identity-attention")).toHaveLength(17)
    const inputs = {
      sample: oracle.get("in.sample")!,
      encoder_hidden_states: oracle.get("in.encoder_hidden_states")!,
      text_embeds: oracle.get("in.text_embeds")!,
      time_ids: oracle.get("in.time_ids")!,
    }
    const timestep = Number(oracle.get("in.timestep")!.data[0])
    for (const name of ["mid", "down2_up1a0"]) {
      const patterns = name === "mid" ? ["mid"] : ["down_blocks.2", "up_blocks.1.attentions.0"]
      const { layers } = resolveLayers(unet.layerIndex!, patterns)
      const perturbed = { "identity-attention": layers }
      const cfg = await unet.runBatch({ inputs, timestep, hooks: [undefined, undefined, perturbed] })
      expect(relativeL2(cfg.data, oracle.get(`out.cfg.${name}`)!.data as Float32Array)).toBeLessThan(1e-4)
      const nocfgInputs = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, slice(t, 0, 1, 3)]))
      const nocfg = await unet.runBatch({ inputs: nocfgInputs, timestep, hooks: [undefined, perturbed] })
      expect(relativeL2(nocfg.data, oracle.get(`out.nocfg.${name}`)!.data as Float32Array)).toBeLessThan(1e-4)
    }
    const plain = await unet.runBatch({ inputs, timestep })
    expect(relativeL2(plain.data, oracle.get("out.plain")!.data as Float32Array)).toBeLessThan(1e-5)
    await hooked.release()
  })

  it("runs the other exports of the same UNet (dynamo, fp16 weights) from their metadata", async () => {
    const oracle = await readSafetensors(tinyOracle("denoiser-sdxl-unet.safetensors"))
    const inputs = {
      sample: oracle.get("in.sample")!,
      encoder_hidden_states: oracle.get("in.encoder_hidden_states")!,
      text_embeds: oracle.get("in.text_embeds")!,
      time_ids: oracle.get("in.time_ids")!,
    }
    for (const [variant, tolerance] of [["variants/unet-dynamo", 1e-5], ["variants/unet-fp16", 3e-3]] as const) {
      const session = await createSession(`${tinyModel(variant)}/model.onnx`)
      const out = await new HookableDenoiser({ session }).runBatch({ inputs, timestep: Number(oracle.get("in.timestep")!.data[0]) })
      expect(relativeL2(out.data, oracle.get("out.plain")!.data as Float32Array)).toBeLessThan(tolerance)
      await session.release()
    }
  })

  it("converts the timestep to the declared rank and dtype", () => {
    const sample = io("sample", "float32", ["batch", 4, "h", "w"])
    const make = (t: SessionIo) => new HookableDenoiser({ session: fakeSession([sample, t]) })
    const int64Steps = make(io("timestep", "int64", ["steps"])).timestepFeed(801.7, 3)
    expect(int64Steps.dtype).toBe("int64")
    expect(int64Steps.shape).toEqual([3])
    expect(Array.from(int64Steps.data as BigInt64Array)).toEqual([801n, 801n, 801n])
    const scalar = make(io("timestep", "float32", [])).timestepFeed(801.5, 3)
    expect(scalar.shape).toEqual([])
    expect(scalar.data[0]).toBe(801.5)
    const one = make(io("timestep", "float16", [1])).timestepFeed(10, 3)
    expect(one.shape).toEqual([1])
    expect(one.dtype).toBe("float32")
  })

  it("builds per-row gate tensors and rejects unknown layers or kinds", async () => {
    const layers = ["mid_block.attentions.0.transformer_blocks.0.attn1", "down_blocks.2.attentions.0.transformer_blocks.0.attn1"]
    const session = fakeSession([
      io("sample", "float32", ["batch", 4, "h", "w"]),
      io("timestep", "int64", ["steps"]),
      io("pag_gates", "float32", ["batch", 2]),
    ])
    const denoiser = new HookableDenoiser({ session, gates: [{ kind: "identity-attention", inputName: "pag_gates", layers }] })
    expect(denoiser.layers("identity-attention")).toEqual(layers)
    const sample = Tensor.zeros([3, 4, 2, 2])
    await denoiser.runBatch({
      inputs: { sample },
      timestep: 5,
      hooks: [undefined, {}, { "identity-attention": [layers[1]!] }],
    })
    const gates = session.feeds[0]!["pag_gates"]!
    expect(gates.shape).toEqual([3, 2])
    expect(Array.from(gates.data as Float32Array)).toEqual([0, 0, 0, 0, 0, 1])
    // no hooks: all zeros
    await denoiser.runBatch({ inputs: { sample }, timestep: 5 })
    expect(Array.from(session.feeds[1]!["pag_gates"]!.data as Float32Array)).toEqual([0, 0, 0, 0, 0, 0])
    await expect(
      denoiser.runBatch({ inputs: { sample }, timestep: 5, hooks: [undefined, undefined, { "identity-attention": ["nope"] }] }),
    ).rejects.toThrow(/layer "nope" has no "identity-attention" hook/)
    await expect(
      denoiser.runBatch({ inputs: { sample }, timestep: 5, hooks: [undefined, undefined, { "skip-layer": ["x"] }] }),
    ).rejects.toBeInstanceOf(ModelInputError)
    await expect(
      denoiser.runBatch({ inputs: { sample, other: Tensor.zeros([2, 1]) }, timestep: 5 }),
    ).rejects.toThrow(/same batch size/)
  })

  it("refuses gates the graph does not have", () => {
    const session = fakeSession([io("sample", "float32", ["batch", 4, "h", "w"]), io("timestep", "int64", [1])])
    expect(
      () => new HookableDenoiser({ session, gates: [{ kind: "identity-attention", inputName: "pag_gates", layers: [] }] }),
    ).toThrow(/gates input "pag_gates"/)
  })
})
