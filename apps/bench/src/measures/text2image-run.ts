// Measurement 3: whole text-to-image runs (64×64, 20 steps), CFG / CFG + PAG, batched / separate passes,
// each in its own process: time vs the same raw UNet calls, and peak RSS.
import * as ort from "onnxruntime-node"
import { AutoPipelineForText2Image } from "@pagkit/pipelines"
import { tinyModelPath } from "@pagkit/tiny-models"
import { unknownScenario } from "../errors.js"
import { runChild } from "../internal/child.js"
import { pagkitSessionOptions, rawSessionOptions } from "../internal/config.js"
import { formatMiB, formatRatio, formatSummary } from "../internal/format.js"
import { timePipelineRun } from "../internal/run-timing.js"
import { ratio, summarizeTimes } from "../internal/stats.js"
import { memorySnapshot, record, samples, timeOnce } from "../internal/timing.js"
import type { Samples } from "../internal/timing.js"
import { LATENT_SIDE, rawFeeds, unetRowInputs } from "../internal/unet-inputs.js"
import type { Section } from "../report.js"
import { UNET_PATH } from "./unet-call.js"

const STEPS = 20
/** Timed rounds: one pipeline run, then the same UNet calls raw. */
const RUNS = 5
/** Raw warm-up calls (the pipeline's warm-up is one untimed full run, which also sets its peak RSS). */
const WARMUP_CALLS = 2

interface RunScenario {
  readonly label: string
  /** Rows per step: 2 (CFG) or 3 (CFG + PAG); 0 = no pipeline (raw UNet calls only, batch 3). */
  readonly rows: number
  readonly passes: "batched" | "separate"
}

const scenarios: Record<string, RunScenario> = {
  "t2i-cfg-batched": { label: "CFG, batched", rows: 2, passes: "batched" },
  "t2i-cfg-separate": { label: "CFG, separate passes", rows: 2, passes: "separate" },
  "t2i-pag-batched": { label: "CFG + PAG, batched", rows: 3, passes: "batched" },
  "t2i-pag-separate": { label: "CFG + PAG, separate passes", rows: 3, passes: "separate" },
  "t2i-raw-only": { label: "raw onnxruntime only (UNet calls of CFG + PAG, batched)", rows: 0, passes: "batched" },
}

/** What one scenario's process reports (milliseconds, bytes). */
interface RunChildResult {
  /** Whole runs. */
  readonly run: Samples
  /** The denoising loop of each run (first UNet call to last step end). */
  readonly loop: Samples
  /** The same UNet calls on a raw session, once per round. */
  readonly raw: Samples
  /** RSS after imports, before loading anything. */
  readonly idleRss: number
  /** Peak RSS over loading and one run (before the raw baseline session is created). */
  readonly peakRss: number
}

/** A raw session making the UNet calls of one run: per step one call of `rows` rows, or `rows` calls of one row. */
async function rawRunner(rows: number, passes: "batched" | "separate"): Promise<() => Promise<void>> {
  const raw = await ort.InferenceSession.create(UNET_PATH, rawSessionOptions())
  const feeds = rawFeeds(unetRowInputs(passes === "batched" ? rows : 1), 801)
  const calls = passes === "batched" ? STEPS : STEPS * rows
  for (let i = 0; i < WARMUP_CALLS; i++) await raw.run(feeds)
  return async () => {
    for (let i = 0; i < calls; i++) await raw.run(feeds)
  }
}

/** Child side: loads the pipeline, makes one run (peak RSS), then alternates timed runs with the raw calls. */
export async function text2imageChild(name: string): Promise<RunChildResult> {
  const scenario = scenarios[name]
  if (scenario === undefined) throw unknownScenario("text-to-image", name, Object.keys(scenarios))
  const idle = await memorySnapshot()
  const result = { run: samples(), loop: samples(), raw: samples(), idleRss: idle.rss, peakRss: 0 }
  if (scenario.rows === 0) {
    const rawRun = await rawRunner(3, "batched")
    for (let i = 0; i < RUNS; i++) record(result.raw, await timeOnce(rawRun))
    return { ...result, peakRss: (await memorySnapshot()).maxRss }
  }
  const pag = scenario.rows === 3
  const pipe = await AutoPipelineForText2Image.fromPretrained(tinyModelPath("tiny-sdxl"), {
    enablePag: pag,
    pagAppliedLayers: ["mid"],
    sessionOptions: pagkitSessionOptions(),
  })
  const call = {
    prompt: "a red circle on a white background",
    height: LATENT_SIDE * 2,
    width: LATENT_SIDE * 2,
    numInferenceSteps: STEPS,
    guidanceScale: 5,
    ...(pag ? { pagScale: 3 } : {}),
    seed: 0,
    passes: scenario.passes,
  }
  await pipe.run(call)
  result.peakRss = (await memorySnapshot()).maxRss
  const rawRun = await rawRunner(scenario.rows, scenario.passes)
  for (let i = 0; i < RUNS; i++) {
    const timing = await timePipelineRun(pipe, call)
    record(result.run, timing.total)
    record(result.loop, timing.loop)
    record(result.raw, await timeOnce(rawRun))
  }
  return result
}

/** Names of the child scenarios of this measurement. */
export const text2imageScenarios: readonly string[] = Object.keys(scenarios)

/** Runs every scenario in its own process and tabulates them. */
export async function measureText2ImageRuns(): Promise<Section> {
  const rows: string[][] = []
  const data: Record<string, RunChildResult> = {}
  for (const [name, scenario] of Object.entries(scenarios)) {
    const result = await runChild<RunChildResult>(name)
    data[name] = result
    const raw = summarizeTimes(result.raw)
    const calls = scenario.rows === 0 ? "1 × 3 rows" : scenario.passes === "batched" ? `1 × ${scenario.rows} rows` : `${scenario.rows} × 1 row`
    const memory = [formatMiB(result.peakRss), formatMiB(result.peakRss - result.idleRss, true)]
    if (result.run.wall.length === 0) {
      rows.push([scenario.label, calls, "—", "—", formatSummary(raw.wall), "—", "—", "—", ...memory])
      continue
    }
    const run = summarizeTimes(result.run)
    const loop = summarizeTimes(result.loop)
    rows.push([
      scenario.label,
      calls,
      formatSummary(run.wall),
      formatSummary(loop.wall),
      formatSummary(raw.wall),
      formatRatio(ratio(run.wall.median, raw.wall.median)),
      formatRatio(ratio(loop.wall.median, raw.wall.median)),
      formatRatio(ratio(loop.cpu.median, raw.cpu.median)),
      ...memory,
    ])
  }
  return {
    id: "text2imageRun",
    title: `3. Whole text-to-image run (64×64, ${STEPS} steps) vs raw UNet calls × steps`,
    summary:
      `Each row is a fresh process: load tiny-sdxl and make one untimed run (peak RSS is read here: the process's ` +
      `maximum over loading and a run; "above idle" subtracts the RSS after imports). Then ${RUNS} rounds of one timed ` +
      `run (prompt encoding, ${STEPS} steps, VAE decode) and the same UNet calls on a raw onnxruntime session ` +
      `(median ±IQR, wall-clock). "run ratio" includes text encoders and VAE, which the raw calls do not run; ` +
      `"loop ratio" takes the denoising loop alone (first UNet call to last step); "(CPU)" uses process CPU time.`,
    table: {
      headers: [
        "run", "UNet calls / step", "pipeline run", "denoising loop", "raw UNet calls", "run ratio", "loop ratio",
        "loop ratio (CPU)", "peak RSS", "above idle",
      ],
      rows,
    },
    data: { steps: STEPS, warmupCalls: WARMUP_CALLS, runs: RUNS, scenarios: data },
  }
}
