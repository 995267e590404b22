// Measurement 1: one UNet call, raw onnxruntime vs the hooked graph (gates 0, gates on the mid block).
import { readFile } from "node:fs/promises"
import path from "node:path"
import * as ort from "onnxruntime-node"
import { identityAttention, loadHookedModel, rewriteModel } from "@pagkit/onnx"
import { tinyModelPath } from "@pagkit/tiny-models"
import { pagkitSessionOptions, rawSessionOptions } from "../internal/config.js"
import { formatRatio, formatSummary } from "../internal/format.js"
import { ratio, summarize } from "../internal/stats.js"
import type { Summary } from "../internal/stats.js"
import type { RunPlan } from "../internal/timing.js"
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

/** Times UNet calls at 32×32 latents for each batch size and variant, interleaved. */
export async function measureUnetCall(plan: RunPlan): Promise<Section> {
  const raw = await ort.InferenceSession.create(UNET_PATH, rawSessionOptions())
  const hookedBytes = rewriteModel(new Uint8Array(await readFile(UNET_PATH)), [identityAttention()]).bytes
  const rawHooked = await ort.InferenceSession.create(hookedBytes, rawSessionOptions())
  const hooked = await loadHookedModel(UNET_PATH, { ...pagkitSessionOptions(), hooks: [identityAttention()] })
  const layerCount = hooked.layers("identity-attention").length
  const midLayers = hooked.layers("identity-attention").filter((p) => p.startsWith("mid_block."))
  const timestep = 801
  const results: Record<number, Record<Variant, Summary>> = {}
  const rows: string[][] = []
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
    const summaries = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v as number[])])) as Record<Variant, Summary>
    results[batch] = summaries
    for (const variant of Object.keys(variants) as Variant[]) {
      rows.push([`batch ${batch}`, variants[variant], formatSummary(summaries[variant]), formatRatio(ratio(summaries[variant].median, summaries.raw.median))])
    }
  }
  await Promise.all([raw.release(), rawHooked.release(), hooked.release()])
  return {
    id: "unetCall",
    title: "1. One UNet call (tiny-sdxl, 32×32 latents)",
    summary:
      `Median ±IQR of ${plan.runs} interleaved calls per variant after ${plan.warmup} warm-up calls. ` +
      `"vs raw" divides by the raw onnxruntime call on the original graph at the same batch. ` +
      `The hooked graph has ${midLayers.length} mid-block layers of ${layerCount} gated.`,
    table: { headers: ["batch", "variant", "time", "vs raw"], rows },
    data: { unetPath: "tiny-sdxl/unet/model.onnx", latent: [32, 32], plan, results },
  }
}
