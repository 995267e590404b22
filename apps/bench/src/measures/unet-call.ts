// Measurement 1: one UNet call, raw onnxruntime vs the hooked graph (gates 0, gates on the mid block).
import { readFile } from "node:fs/promises"
import path from "node:path"
import * as ort from "onnxruntime-node"
import { identityAttention, loadHookedModel, rewriteModel } from "@pagkit/onnx"
import { tinyModelPath } from "@pagkit/tiny-models"
import { pagkitSessionOptions, rawSessionOptions } from "../internal/config.js"
import { TIME_HEADERS, timeCells } from "../internal/format.js"
import { summarizeTimes } from "../internal/stats.js"
import type { TimeSummary } from "../internal/stats.js"
import type { RunPlan, Samples } from "../internal/timing.js"
import { timeInterleaved } from "../internal/timing.js"
import { rawFeeds, timestepTensor, unetRowInputs } from "../internal/unet-inputs.js"
import type { Section } from "../report.js"

/** tiny-sdxl's UNet graph. */
export const UNET_PATH = path.join(tinyModelPath("tiny-sdxl"), "unet", "model.onnx")

const variants = {
  raw: "raw onnxruntime, original graph",
  rawHooked: "raw onnxruntime, hooked graph (gates 0)",
  gatesOff: "pagkit HookedModel, gates 0",
  gatesMid: "pagkit HookedModel, mid block gated on last row",
} as const
type Variant = keyof typeof variants

/** Batches measured: 1 (separate passes), 2 (CFG), 3 (CFG + PAG). */
const BATCHES = [1, 2, 3] as const

/** Largest absolute difference between the `out_sample` of a raw call and of a pagkit call. */
async function outputDifference(
  rawCall: () => Promise<ort.InferenceSession.ReturnType>,
  pagkitCall: () => Promise<Record<string, { readonly data: unknown }>>,
): Promise<number> {
  const expected = (await rawCall())["out_sample"]?.data as Float32Array
  const actual = (await pagkitCall())["out_sample"]?.data as Float32Array
  let max = 0
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(expected[i]! - actual[i]!))
  return max
}

/** Times UNet calls at 32×32 latents for each batch size and variant, interleaved. */
export async function measureUnetCall(plan: RunPlan): Promise<Section> {
  const raw = await ort.InferenceSession.create(UNET_PATH, rawSessionOptions())
  const hookedBytes = rewriteModel(new Uint8Array(await readFile(UNET_PATH)), [identityAttention()]).bytes
  const rawHooked = await ort.InferenceSession.create(hookedBytes, rawSessionOptions())
  const hooked = await loadHookedModel(UNET_PATH, { ...pagkitSessionOptions(), hooks: [identityAttention()] })
  const layerCount = hooked.layers("identity-attention").length
  const midLayers = hooked.layers("identity-attention").filter((p) => p.startsWith("mid_block."))
  const timestep = 801
  const results: Record<number, Record<Variant, TimeSummary>> = {}
  const allSamples: Record<number, Record<Variant, Samples>> = {}
  const rows: string[][] = []
  let maxDiffGatesOff = 0
  for (const batch of BATCHES) {
    const inputs = unetRowInputs(batch)
    const feeds = rawFeeds(inputs, timestep)
    const pagkitFeeds = { ...inputs, timestep: timestepTensor(batch, timestep) }
    const gatesMid = hooked.gates("identity-attention", Array.from({ length: batch }, (_, b) => (b === batch - 1 ? midLayers : [])))
    const zeroGates = new Float32Array(batch * layerCount)
    const rawHookedFeeds = { ...feeds, pag_gates: new ort.Tensor("float32", zeroGates, [batch, layerCount]) }
    const samples = await timeInterleaved<Variant>(
      {
        raw: () => raw.run(feeds),
        rawHooked: () => rawHooked.run(rawHookedFeeds),
        gatesOff: () => hooked.run(pagkitFeeds),
        gatesMid: () => hooked.run({ ...pagkitFeeds, pag_gates: gatesMid }),
      },
      plan,
    )
    maxDiffGatesOff = Math.max(maxDiffGatesOff, await outputDifference(() => raw.run(feeds), () => hooked.run(pagkitFeeds)))
    const summaries = Object.fromEntries(
      (Object.keys(variants) as Variant[]).map((k) => [k, summarizeTimes(samples[k])]),
    ) as Record<Variant, TimeSummary>
    results[batch] = summaries
    allSamples[batch] = samples
    for (const variant of Object.keys(variants) as Variant[]) {
      rows.push([`batch ${batch}`, variants[variant], ...timeCells(summaries[variant], summaries.raw)])
    }
  }
  await Promise.all([raw.release(), rawHooked.release(), hooked.release()])
  return {
    id: "unetCall",
    title: "1. One UNet call (tiny-sdxl, 32×32 latents)",
    summary:
      `Median ±IQR of ${plan.runs} interleaved calls per variant after ${plan.warmup} warm-up calls, wall-clock and ` +
      `process CPU time. "vs raw" divides by the raw onnxruntime call on the original graph at the same batch. ` +
      `The hooked graph has ${midLayers.length} mid-block layers of ${layerCount} gated. Sanity check: with gates 0 ` +
      `its output equals the original graph's to max |Δ| = ${maxDiffGatesOff.toExponential(1)}.`,
    table: { headers: ["batch", "variant", ...TIME_HEADERS], rows },
    data: { unetPath: "tiny-sdxl/unet/model.onnx", latent: [32, 32], plan, maxDiffGatesOff, results, samples: allSamples },
  }
}
