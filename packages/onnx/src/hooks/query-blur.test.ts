import { readFile } from "node:fs/promises"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SafetensorsFile, Tensor, maxAbsDiff, relativeL2, slice } from "@pagkit/tensor"
import { HookError } from "../errors.js"
import { model, oraclesDir } from "../internal/fixtures.js"
import { editedSession, exposeOutputs, oracleInputs } from "../internal/hook-testing.js"
import { GraphView } from "../layers/graph-view.js"
import { GraphEditor } from "./graph-editor.js"
import { buildLayerIndex } from "../layers/layer-index.js"
import type { LayerIndex } from "../layers/layer-index.js"
import { patchTokenGrid, unetTokenGrid } from "../layers/token-grid.js"
import type { TokenGrid } from "../layers/token-grid.js"
import { intsAttribute, makeNode } from "../proto/build.js"
import { decodeModel } from "../proto/decode.js"
import { encodeModel } from "../proto/encode.js"
import type { ModelProto } from "../proto/types.js"
import { createSession } from "../session/create-session.js"
import type { ModelSession } from "../session/model-session.js"
import { hookFeeds } from "./control-feeds.js"
import type { RowActivation } from "./hook-kind.js"
import { installHooks } from "./install.js"
import { QUERY_BLUR, queryBlur } from "./query-blur.js"
import { BLOCK_SKIP, blockSkip } from "./block-skip.js"
import { loadHookedModel } from "./load-hooked-model.js"
import { gaussianBlurOperator, segKernelSize } from "./gaussian-blur-operator.js"

/**
 * Transcription of SEG-SDXL's gaussian_blur_2d (SusungHong/SEG-SDXL pipeline_seg.py) on one row of a query
 * `[tokens, channels]` seen as `[channels, height, width]`: kernel clamped by the last dim, 2-D kernel = outer
 * product, F.pad(mode="reflect") by k // 2, then a depthwise conv2d.
 */
function gaussianBlur2dReference(query: Float32Array, height: number, width: number, channels: number, sigma: number): Float64Array {
  const kernelSize = Math.min(Math.ceil(6 * sigma) + 1 - (Math.ceil(6 * sigma) % 2), width - ((width % 2) - 1))
  const half = (kernelSize - 1) * 0.5
  const x = Array.from({ length: kernelSize }, (_, t) => (kernelSize === 1 ? -half : -half + (t * 2 * half) / (kernelSize - 1)))
  const pdf = x.map((v) => Math.exp(-0.5 * (v / sigma) ** 2))
  const total = pdf.reduce((a, b) => a + b, 0)
  const kernel = pdf.map((p) => p / total)
  const pad = Math.floor(kernelSize / 2)
  const reflect = (p: number, n: number) => (p < 0 ? -p : p >= n ? 2 * (n - 1) - p : p)
  if (pad >= height || pad >= width) throw new Error("torch: padding size should be less than the input dimension")
  const out = new Float64Array(query.length)
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      for (let xx = 0; xx < width; xx++) {
        let acc = 0
        for (let i = 0; i < kernelSize; i++) {
          for (let j = 0; j < kernelSize; j++) {
            const sy = reflect(y + i - pad, height)
            const sx = reflect(xx + j - pad, width)
            acc += kernel[i]! * kernel[j]! * query[(sy * width + sx) * channels + c]!
          }
        }
        out[(y * width + xx) * channels + c] = acc
      }
    }
  }
  return out
}

function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0
  let den = 0
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2
    den += b[i]! ** 2
  }
  return Math.sqrt(num / den)
}

const row = (t: Tensor, b: number) => slice(t, 0, b, b + 1)

interface Hooked {
  readonly session: ModelSession
  readonly index: LayerIndex
  readonly installed: ReturnType<typeof installHooks>[number]
}

/** The model with queryBlur installed and, for `sites`, the query and blurred query exposed as outputs. */
async function hookedWithProbes(folder: string, sites: readonly string[]): Promise<Hooked> {
  const decoded = decodeModel(new Uint8Array(await readFile(model(folder))))
  const index = buildLayerIndex(decoded)
  const [installed] = installHooks(decoded, index, [queryBlur()])
  const probes = sites.flatMap((site) => {
    const layer = index.selfAttention.find((a) => a.path === site)!
    return [layer.toQ.output, `/pagkit/query_blur/${site.replaceAll(".", "/")}/blurred_query`]
  })
  exposeOutputs(decoded.graph, probes)
  return { session: await createSession(encodeModel(decoded), { intraOpThreads: 2 }), index, installed: installed! }
}

/** The hand-made "mean query": q' = ReduceMean(q over tokens), broadcast back, on the given sites. */
function meanQueryByHand(sites: readonly string[]) {
  return (decoded: ModelProto, index: LayerIndex) => {
    const opset = decoded.opsetImports.find((o) => o.domain === "")?.version ?? 17
    if (opset >= 18) throw new Error("ReduceMean takes axes as an input from opset 18: extend this helper for such models")
    for (const site of sites) {
      const q = index.selfAttention.find((a) => a.path === site)!.toQ.output
      const mean = `${q}/mean`
      const expanded = `${q}/mean_expanded`
      for (const node of decoded.graph.nodes) node.inputs.forEach((input, i) => (input === q ? (node.inputs[i] = expanded) : undefined))
      decoded.graph.nodes.push(
        makeNode({ opType: "ReduceMean", name: `${q}/ReduceMean`, inputs: [q], outputs: [mean], attributes: [intsAttribute("axes", [1])] }),
        makeNode({ opType: "Shape", name: `${q}/Shape`, inputs: [q], outputs: [`${q}/shape`] }),
        makeNode({ opType: "Expand", name: `${q}/Expand`, inputs: [mean, `${q}/shape`], outputs: [expanded] }),
      )
    }
    new GraphEditor(decoded).sortNodes()
  }
}

function rowsOf(sites: readonly string[], sigmas: readonly (number | undefined)[]): (RowActivation | undefined)[] {
  return sigmas.map((value) => (value === undefined ? undefined : { layers: sites, value }))
}

for (const setup of [
  {
    folder: "tiny-sdxl/unet",
    oracle: "denoiser-sdxl-unet",
    sampleName: "sample",
    sites: ["down_blocks.1.attentions.0.transformer_blocks.0.attn1", "mid_block.attentions.0.transformer_blocks.1.attn1", "up_blocks.1.attentions.2.transformer_blocks.0.attn1"],
    grid: (index: LayerIndex, shape: readonly number[]): TokenGrid => unetTokenGrid(index, shape),
    sigma: 1.5,
  },
  {
    folder: "tiny-pixart-sigma/transformer",
    oracle: "denoiser-pixart",
    sampleName: "hidden_states",
    sites: ["transformer_blocks.2.attn1", "transformer_blocks.7.attn1"],
    grid: (_index: LayerIndex, shape: readonly number[]): TokenGrid => patchTokenGrid(2, shape),
    // k = 13 > 8 + 1: clamped to 9 as the reference clamps it
    sigma: 2,
  },
] as const) {
  describe(`queryBlur on ${setup.folder}`, () => {
    let hooked: Hooked
    let plain: ModelSession
    let inputs: Record<string, Tensor>
    const kind = queryBlur()
    beforeAll(async () => {
      inputs = await oracleInputs(setup.oracle)
      hooked = await hookedWithProbes(setup.folder, setup.sites)
      plain = await createSession(model(setup.folder), { intraOpThreads: 2 })
    })
    afterAll(async () => {
      await hooked.session.release()
      await plain.release()
    })
    const context = () => {
      const sampleShape = inputs[setup.sampleName]!.shape
      return { sampleShape, tokenGrid: setup.grid(hooked.index, sampleShape) }
    }

    it("blurs the query exactly as SEG's gaussian_blur_2d; off rows and σ→0 are the plain model", async () => {
      const feeds = hookFeeds(kind, hooked.installed, rowsOf(setup.sites, [undefined, setup.sigma, 0.1]), context())
      const out = await hooked.session.run({ ...inputs, ...feeds })
      const expected = (await plain.run(inputs))["out_sample"]!
      for (const site of setup.sites) {
        const layer = hooked.index.selfAttention.find((a) => a.path === site)!
        const query = out[layer.toQ.output]!
        const blurred = out[`/pagkit/query_blur/${site.replaceAll(".", "/")}/blurred_query`]!
        const [tokens, channels] = [query.shape[1]!, query.shape[2]!]
        const [h, w] = context().tokenGrid(site)!
        expect(h * w).toBe(tokens)
        const q1 = row(query, 1).data as Float32Array
        const reference = gaussianBlur2dReference(q1, h, w, channels, setup.sigma)
        const error = relL2(row(blurred, 1).data as Float32Array, reference)
        console.log(`${site}: blurred query (σ=${setup.sigma}, grid ${h}×${w}, kernel ${Math.min(segKernelSize(setup.sigma), w + 1 - (w % 2))}) relative L2 ${error.toExponential(2)}`)
        expect(error).toBeLessThan(1e-6)
        expect(relL2(q1, reference)).toBeGreaterThan(1e-2)
        expect(maxAbsDiff(row(blurred, 0), row(query, 0))).toBe(0)
        expect(maxAbsDiff(row(blurred, 2), row(query, 2))).toBe(0)
      }
      const output = out["out_sample"]!
      expect(maxAbsDiff(row(output, 0), row(expected, 0))).toBe(0)
      expect(maxAbsDiff(row(output, 2), row(expected, 2))).toBe(0)
      expect(relativeL2(row(output, 1), row(expected, 1))).toBeGreaterThan(1e-4)
    })

    it("σ = ∞ equals attention with the mean query (the graph changed by hand)", async () => {
      const byHand = await editedSession(setup.folder, meanQueryByHand(setup.sites))
      const expected = (await byHand.run(inputs))["out_sample"]!
      await byHand.release()
      const feeds = hookFeeds(kind, hooked.installed, rowsOf(setup.sites, [undefined, Infinity, 1e8]), context())
      const out = (await hooked.session.run({ ...inputs, ...feeds }))["out_sample"]!
      for (const b of [1, 2]) {
        const error = relativeL2(row(out, b), row(expected, b))
        console.log(`${setup.folder}: σ=∞ vs mean query by hand, row ${b}: relative L2 ${error.toExponential(2)}`)
        expect(error).toBeLessThan(1e-6)
      }
    })
  })
}

describe("token grids", () => {
  it("unetTokenGrid matches the UNet's actual tensor shapes on a non-square latent, and the blur works there", async () => {
    const folder = "tiny-sdxl/unet"
    const decoded = decodeModel(new Uint8Array(await readFile(model(folder))))
    const index = buildLayerIndex(decoded)
    const view = new GraphView(decoded.graph)
    // the 4-D input of each Transformer2DModel's GroupNorm: [batch, channels, h, w]
    const models = [...new Set(index.selfAttention.map((a) => a.path.replace(/\.transformer_blocks\.\d+\.attn1$/, "")))]
    const probes = models.map((m) => view.boundary(view.nodesWithin(`${m}.norm`)).inputs[0]!)
    const [installed] = installHooks(decoded, index, [queryBlur()])
    const site = "up_blocks.0.attentions.1.transformer_blocks.1.attn1"
    const layer = index.selfAttention.find((a) => a.path === site)!
    exposeOutputs(decoded.graph, [...probes, layer.toQ.output, `/pagkit/query_blur/${site.replaceAll(".", "/")}/blurred_query`])
    const session = await createSession(encodeModel(decoded), { intraOpThreads: 2 })
    const oracle = await oracleInputs("denoiser-sdxl-unet")
    const sampleShape = [1, 4, 32, 48]
    const sample = Tensor.fromArray(Array.from({ length: 32 * 48 * 4 }, (_, i) => Math.sin(i * 0.37)), sampleShape)
    const inputs = { ...Object.fromEntries(Object.entries(oracle).map(([k, t]) => [k, k === "timestep" ? t : row(t, 1)])), sample }
    const tokenGrid = unetTokenGrid(index, sampleShape)
    expect(unetTokenGrid({ down_block_types: ["a", "b", "c"] }, sampleShape)(site)).toEqual(tokenGrid(site))
    const feeds = hookFeeds(queryBlur(), installed!, [{ layers: [site], value: 1 }], { sampleShape, tokenGrid })
    const out = await session.run({ ...inputs, ...feeds })
    models.forEach((m, i) => {
      const shape = out[probes[i]!]!.shape
      for (const a of index.selfAttention.filter((s) => s.path.startsWith(`${m}.`))) expect(tokenGrid(a.path), a.path).toEqual([shape[2], shape[3]])
    })
    expect(tokenGrid(site)).toEqual([8, 12])
    const query = out[layer.toQ.output]!
    const reference = gaussianBlur2dReference(query.data as Float32Array, 8, 12, query.shape[2]!, 1)
    const error = relL2(out[`/pagkit/query_blur/${site.replaceAll(".", "/")}/blurred_query`]!.data as Float32Array, reference)
    console.log(`non-square 8×12 grid, σ=1: blurred query relative L2 ${error.toExponential(2)}`)
    expect(error).toBeLessThan(1e-6)
    await session.release()
  })

  it("patchTokenGrid divides the latent by the patch size and refuses what does not divide", () => {
    expect(patchTokenGrid(2, [1, 4, 16, 24])("transformer_blocks.0.attn1")).toEqual([8, 12])
    expect(() => patchTokenGrid(2, [1, 4, 15, 24])).toThrow(/whole number of 2×2 patches/)
  })
})

describe("gaussianBlurOperator", () => {
  it("is SEG's kernel with reflect padding, the mean above the threshold and the identity for σ ≤ 0", () => {
    expect(segKernelSize(1)).toBe(7)
    expect(segKernelSize(10)).toBe(61)
    expect(segKernelSize(0.1)).toBe(1)
    const mean = gaussianBlurOperator(4, 1e8)
    expect(Array.from(mean)).toEqual(new Array(16).fill(0.25))
    expect(Array.from(gaussianBlurOperator(3, 0))).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1])
    expect(Array.from(gaussianBlurOperator(3, 0.1))).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1])
    // row 0 of a 9-token axis, σ = 1 (k = 7, pad 3): taps −3…3 reflect to 3 2 1 0 1 2 3
    const n = 9
    const op = gaussianBlurOperator(n, 1)
    const pdf = [-3, -2, -1, 0, 1, 2, 3].map((x) => Math.exp(-0.5 * x * x))
    const k = pdf.map((p) => p / pdf.reduce((a, b) => a + b, 0))
    expect(op[0]).toBeCloseTo(k[3]!, 7)
    expect(op[1]).toBeCloseTo(k[2]! + k[4]!, 7)
    expect(op[2]).toBeCloseTo(k[1]! + k[5]!, 7)
    expect(op[3]).toBeCloseTo(k[0]! + k[6]!, 7)
    expect(op[4]).toBe(0)
    // an interior row is the plain kernel
    expect(Array.from(op.slice(4 * n + 1, 4 * n + 8))).toEqual(k.map((v) => Math.fround(v)))
    for (let i = 0; i < n; i++) expect([...op.slice(i * n, i * n + n)].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6)
  })

  it("query blur feeds need the token grid and each active row's σ", () => {
    const installed = { kind: QUERY_BLUR, target: "self-attention" as const, layers: ["a.attn1"], inputs: [
      { name: "query_blur_h_0", layout: "custom" as const, site: "a.attn1", description: "" },
      { name: "query_blur_w_0", layout: "custom" as const, site: "a.attn1", description: "" },
    ] }
    const kind = queryBlur()
    expect(() => kind.feeds!(installed, [undefined], { sampleShape: [1, 4, 8, 8] })).toThrow(/no tokenGrid/)
    expect(() => kind.feeds!(installed, [{ layers: ["a.attn1"] }], { sampleShape: [1, 4, 8, 8], tokenGrid: () => [4, 4] })).toThrow(HookError)
    expect(() => kind.feeds!(installed, [{ layers: ["a.attn1"], value: -1 }], { sampleShape: [1, 4, 8, 8], tokenGrid: () => [4, 4] })).toThrow(/σ ≥ 0/)
    expect(() => kind.feeds!(installed, [{ layers: ["b.attn1"], value: 1 }], { sampleShape: [1, 4, 8, 8], tokenGrid: () => [4, 4] })).toThrow(/not one of the 1 self-attention sites/)
    const feeds = kind.feeds!(installed, [undefined, { layers: ["a.attn1"], value: 1 }], { sampleShape: [2, 4, 8, 12], tokenGrid: () => [4, 6] })
    expect(feeds["query_blur_h_0"]!.shape).toEqual([2, 4, 4])
    expect(feeds["query_blur_w_0"]!.shape).toEqual([2, 6, 6])
    expect(Array.from((feeds["query_blur_w_0"]!.data as Float32Array).slice(0, 36))).toEqual(Array.from({ length: 36 }, (_, k) => (k % 7 === 0 ? 1 : 0)))
  })
})

describe("float16 graphs", () => {
  it("queryBlur and blockSkip install on the fp16 UNet (cast operators and gates): off rows unchanged, on rows change", async () => {
    const folder = "variants/unet-fp16"
    const inputs = await oracleInputs("denoiser-sdxl-unet")
    const blur = queryBlur()
    const skip = blockSkip()
    const hooked = await loadHookedModel(model(folder), { hooks: [blur, skip], intraOpThreads: 2 })
    const sampleShape = inputs["sample"]!.shape
    const context = { sampleShape, tokenGrid: unetTokenGrid(hooked.index, sampleShape) }
    const mid = hooked.layers(QUERY_BLUR).filter((l) => l.startsWith("mid_block."))
    const feeds = {
      ...hookFeeds(blur, hooked.hook(QUERY_BLUR), [undefined, { layers: mid, value: 1 }, undefined], context),
      ...hookFeeds(skip, hooked.hook(BLOCK_SKIP), [undefined, undefined, { layers: ["mid_block.attentions.0.transformer_blocks.0"] }], context),
    }
    const out = (await hooked.run({ ...inputs, ...feeds }))["out_sample"]!
    const allOff = {
      ...hookFeeds(blur, hooked.hook(QUERY_BLUR), [undefined, undefined, undefined], context),
      ...hookFeeds(skip, hooked.hook(BLOCK_SKIP), [undefined, undefined, undefined], context),
    }
    const expected = (await hooked.run({ ...inputs, ...allOff }))["out_sample"]!
    // the gates-off model equals the plain fp16 model (checked against diffusers in identity-attention.test.ts)
    expect(relativeL2(expected, await oracleTensor("out.plain"))).toBeLessThan(3e-3)
    expect(maxAbsDiff(row(out, 0), row(expected, 0))).toBe(0)
    expect(relativeL2(row(out, 1), row(expected, 1))).toBeGreaterThan(1e-3)
    expect(relativeL2(row(out, 2), row(expected, 2))).toBeGreaterThan(1e-3)
    await hooked.release()
  })
})

async function oracleTensor(key: string): Promise<Tensor> {
  const file = await SafetensorsFile.open(path.join(oraclesDir, "denoiser-sdxl-unet.safetensors"))
  const t = await file.read(key)
  await file.close()
  return t
}
