// Measurement 5: rewriting a graph whose weights are external data keeps them on disk: JS heap and RSS growth of
// rewriteModel / loadHookedModel on variants/unet-controlnet vs the size of its model.onnx_data.
import { readFile, stat } from "node:fs/promises"
import path from "node:path"
import * as ort from "onnxruntime-node"
import { identityAttention, loadHookedModel, rewriteModel } from "@pagkit/onnx"
import { tinyModelPath } from "@pagkit/tiny-models"
import { runChild } from "../internal/child.js"
import { pagkitSessionOptions, rawSessionOptions } from "../internal/config.js"
import { formatMiB } from "../internal/format.js"
import { memoryGrowth, memorySnapshot } from "../internal/timing.js"
import type { MemorySnapshot } from "../internal/timing.js"
import type { Section } from "../report.js"
import { UNET_PATH } from "./unet-call.js"
import { unknownScenario } from "../errors.js"

const EXTERNAL_DIR = tinyModelPath("variants/unet-controlnet")
const EXTERNAL_PATH = path.join(EXTERNAL_DIR, "model.onnx")
const EXTERNAL_DATA = path.join(EXTERNAL_DIR, "model.onnx_data")

interface RewriteScenario {
  readonly label: string
  /** The work measured; what it returns is kept alive until the snapshot. */
  readonly work: () => Promise<unknown>
}

const scenarios: Record<string, RewriteScenario> = {
  "rewrite-external": {
    label: "rewriteModel, unet-controlnet (weights in model.onnx_data)",
    work: async () => rewriteModel(new Uint8Array(await readFile(EXTERNAL_PATH)), [identityAttention()]),
  },
  "load-hooked-external": {
    label: "loadHookedModel, unet-controlnet (rewrite + session)",
    work: () => loadHookedModel(EXTERNAL_PATH, { ...pagkitSessionOptions(), hooks: [identityAttention()] }),
  },
  "raw-session-external": {
    label: "raw ort.InferenceSession, unet-controlnet (contrast: no rewrite)",
    work: () => ort.InferenceSession.create(EXTERNAL_PATH, rawSessionOptions()),
  },
  "raw-bytes-external": {
    label: "raw ort.InferenceSession from model.onnx bytes, unet-controlnet (contrast: buffer, not path)",
    work: async () =>
      ort.InferenceSession.create(new Uint8Array(await readFile(EXTERNAL_PATH)), {
        ...rawSessionOptions(),
        extra: { session: { model_external_initializers_file_folder_path: EXTERNAL_DIR } },
      }),
  },
  "rewrite-inline": {
    label: "rewriteModel, tiny-sdxl unet (contrast: weights inside model.onnx)",
    work: async () => rewriteModel(new Uint8Array(await readFile(UNET_PATH)), [identityAttention()]),
  },
}

/** Keeps the scenario's result reachable through the snapshot's GC. */
const retained: unknown[] = []

/** What one scenario's process reports (bytes): growth over the work, with its result still alive. */
interface RewriteChildResult {
  readonly growth: MemorySnapshot
}

/** A small graph (tiny PixArt transformer, 1.4 MB) rewritten first, so code warm-up is not counted as growth. */
const WARMUP_PATH = path.join(tinyModelPath("tiny-pixart-sigma"), "transformer", "model.onnx")

/** Child side: memory before and after the scenario's work (after one warm-up rewrite of a small graph). */
export async function rewriteMemoryChild(name: string): Promise<RewriteChildResult> {
  const scenario = scenarios[name]
  if (scenario === undefined) throw unknownScenario("rewrite", name, Object.keys(scenarios))
  rewriteModel(new Uint8Array(await readFile(WARMUP_PATH)), [identityAttention()])
  const before = await memorySnapshot()
  retained.push(await scenario.work())
  return { growth: memoryGrowth(before, await memorySnapshot()) }
}

/** Names of the child scenarios of this measurement. */
export const rewriteMemoryScenarios: readonly string[] = Object.keys(scenarios)

/** Runs each scenario in its own process and compares the growth with the weight files' sizes. */
export async function measureRewriteMemory(): Promise<Section> {
  const sizes = {
    externalGraph: (await stat(EXTERNAL_PATH)).size,
    externalData: (await stat(EXTERNAL_DATA)).size,
    inlineGraph: (await stat(UNET_PATH)).size,
  }
  const rows: string[][] = []
  const data: Record<string, RewriteChildResult> = {}
  for (const [name, scenario] of Object.entries(scenarios)) {
    const r = await runChild<RewriteChildResult>(name)
    data[name] = r
    const js = r.growth.heapUsed + r.growth.arrayBuffers
    rows.push([
      scenario.label,
      formatMiB(js, true),
      `${((js / sizes.externalData) * 100).toFixed(0)} %`,
      formatMiB(r.growth.rss, true),
      formatMiB(r.growth.maxRss, true),
    ])
  }
  return {
    id: "rewriteMemory",
    title: "5. Rewriting keeps external weights on disk",
    summary:
      `Each row is a fresh process; growth from before to after the work, with its result still alive, after a full GC. ` +
      `unet-controlnet: model.onnx ${formatMiB(sizes.externalGraph)}, model.onnx_data ${formatMiB(sizes.externalData)}; ` +
      `tiny-sdxl unet: model.onnx ${formatMiB(sizes.inlineGraph)} (weights inline). "JS" = V8 heap + ArrayBuffers; ` +
      `"vs onnx_data" divides it by the size of model.onnx_data. "peak RSS growth" is the rise of the process's peak ` +
      `RSS, so it covers transient buffers (it can be below the RSS growth when the warm-up had set a higher peak).`,
    table: { headers: ["work", "JS (heap + buffers)", "vs onnx_data", "RSS growth", "peak RSS growth"], rows },
    data: { sizes, scenarios: data },
  }
}
