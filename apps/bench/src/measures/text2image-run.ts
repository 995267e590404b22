// Measurement 3: whole text-to-image runs (64×64, 20 steps), CFG / CFG + PAG, batched / separate passes,
// each in its own process: time vs the same raw UNet calls, and peak RSS.
import * as ort from "onnxruntime-node"
import { AutoPipelineForText2Image } from "@pagkit/pipelines"
import { tinyModelPath } from "@pagkit/tiny-models"
import { runChild } from "../internal/child.js"
import { pagkitSessionOptions, rawSessionOptions } from "../internal/config.js"
import { formatMiB, formatRatio, formatSummary } from "../internal/format.js"
import { ratio, summarize } from "../internal/stats.js"
import { memorySnapshot, timeOnce } from "../internal/timing.js"
import { LATENT_SIDE, rawFeeds, unetRowInputs } from "../internal/unet-inputs.js"
import type { Section } from "../report.js"
import { UNET_PATH } from "./unet-call.js"

const STEPS = 20
const WARMUP = 1
const RUNS = 3

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
  readonly runMs: number[]
  readonly rawMs: number[]
  /** RSS after imports, before loading anything. */
  readonly idleRss: number
  /** Peak RSS over loading and the runs (before the raw baseline session is created). */
  readonly peakRss: number
}

/** Times the raw UNet calls a run makes: per step one call of `rows` rows, or `rows` calls of one row. */
async function rawRuns(rows: number, passes: "batched" | "separate"): Promise<number[]> {
  const raw = await ort.InferenceSession.create(UNET_PATH, rawSessionOptions())
  const feeds = rawFeeds(unetRowInputs(passes === "batched" ? rows : 1), 801)
  const calls = passes === "batched" ? STEPS : STEPS * rows
  const once = async (): Promise<void> => {
    for (let i = 0; i < calls; i++) await raw.run(feeds)
  }
  for (let i = 0; i < WARMUP; i++) await once()
  const ms: number[] = []
  for (let i = 0; i < RUNS; i++) ms.push(await timeOnce(once))
  await raw.release()
  return ms
}

/** Child side: loads the pipeline, runs it, then the raw baseline. */
export async function text2imageChild(name: string): Promise<RunChildResult> {
  const scenario = scenarios[name]
  if (scenario === undefined) throw new Error(`unknown text-to-image scenario "${name}"; known: ${Object.keys(scenarios).join(", ")}.`)
  const idle = await memorySnapshot()
  if (scenario.rows === 0) {
    const rawMs = await rawRuns(3, "batched")
    return { runMs: [], rawMs, idleRss: idle.rss, peakRss: (await memorySnapshot()).maxRss }
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
  for (let i = 0; i < WARMUP; i++) await pipe.run(call)
  const runMs: number[] = []
  for (let i = 0; i < RUNS; i++) runMs.push(await timeOnce(() => pipe.run(call)))
  const peakRss = (await memorySnapshot()).maxRss
  const rawMs = await rawRuns(scenario.rows, scenario.passes)
  return { runMs, rawMs, idleRss: idle.rss, peakRss }
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
    const raw = summarize(result.rawMs)
    const calls = scenario.rows === 0 ? "1 × 3 rows" : scenario.passes === "batched" ? `1 × ${scenario.rows} rows` : `${scenario.rows} × 1 row`
    const run = result.runMs.length === 0 ? undefined : summarize(result.runMs)
    rows.push([
      scenario.label,
      calls,
      run === undefined ? "—" : formatSummary(run),
      formatSummary(raw),
      run === undefined ? "—" : formatRatio(ratio(run.median, raw.median)),
      formatMiB(result.peakRss),
      formatMiB(result.peakRss - result.idleRss, true),
    ])
  }
  return {
    id: "text2imageRun",
    title: `3. Whole text-to-image run (64×64, ${STEPS} steps) vs raw UNet calls × steps`,
    summary:
      `Each row is a fresh process: load tiny-sdxl, ${WARMUP} warm-up run, ${RUNS} timed runs (prompt encoding, ${STEPS} steps, ` +
      `VAE decode), then the same UNet calls made on a raw onnxruntime session (median ±IQR). The ratio includes ` +
      `text encoders and VAE, which the raw column does not run. Peak RSS is the process's maximum over loading and the ` +
      `pipeline runs; "above idle" subtracts the RSS after imports.`,
    table: { headers: ["run", "UNet calls / step", "pipeline run", "raw UNet calls", "ratio", "peak RSS", "above idle"], rows },
    data: { steps: STEPS, warmup: WARMUP, runs: RUNS, scenarios: data },
  }
}
