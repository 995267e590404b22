/**
 * `pnpm bench [--threads N|default] [--only id,id]`: pagkit's speed and memory as ratios against raw onnxruntime on the
 * same machine, in the same run. Prints a markdown report and writes it as JSON to `apps/bench/results/latest.json`.
 * `pnpm bench --scenario pag-cost [--json] [--layers mid] [--latent 128x128] [--model tiny-sdxl] [--threads N]`: what
 * PAG's perturbed row costs over a CFG step, full and split (see `measures/pag-cost.ts`).
 * @module
 */
import { mkdir, writeFile } from "node:fs/promises"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { performance } from "node:perf_hooks"
import { parseArgs } from "node:util"
import { BenchError } from "./errors.js"
import { runChild } from "./internal/child.js"
import { THREADS_ENV, benchThreads } from "./internal/config.js"
import { markdownTable } from "./internal/format.js"
import { machineFacts } from "./internal/machine.js"
import { measureDenoiseStep } from "./measures/denoise-step.js"
import { PAG_COST_ENV, measurePagCost, modelFolder, pagCostMemoryScenarios } from "./measures/pag-cost.js"
import type { PagCostMemory, PagCostOptions } from "./measures/pag-cost.js"
import { measurePipelineMemory } from "./measures/pipeline-memory.js"
import { measureRewriteMemory } from "./measures/rewrite-memory.js"
import { measureText2ImageRuns } from "./measures/text2image-run.js"
import { measureUnetCall } from "./measures/unet-call.js"
import type { Report, Section } from "./report.js"
import { renderMarkdown } from "./report.js"

const resultsDir = fileURLToPath(new URL("../results/", import.meta.url))

/** Every measurement, in report order (ids as in the JSON). */
const measures: ReadonlyArray<readonly [id: string, run: () => Promise<Section>]> = [
  ["unetCall", () => measureUnetCall({ warmup: 3, runs: 25 })],
  ["denoiseStep", () => measureDenoiseStep({ warmupRounds: 1, rounds: 5, steps: 10 })],
  ["text2imageRun", measureText2ImageRuns],
  ["pipelineMemory", measurePipelineMemory],
  ["rewriteMemory", measureRewriteMemory],
]

/** A section that reports a measurement which threw, so one failure does not lose the others. */
function failedSection(id: string, error: unknown): Section {
  const message = String((error as Error)?.message ?? error).split("\n")[0] ?? ""
  console.error(`bench: ${id} failed:`, error)
  return {
    id,
    title: `${id}: failed`,
    summary: "This measurement threw; its stack trace is on stderr.",
    table: { headers: ["error"], rows: [[message]] },
    data: { error: message },
  }
}

const usage =
  `usage: pnpm bench [--threads N|default] [--only ${measures.map(([id]) => id).join(",")}]\n` +
  "       pnpm bench --scenario pag-cost [--json] [--layers mid,…] [--latent HxW] [--model tiny-sdxl|tiny-pixart-sigma|dir] [--runs N] [--warmup N] [--no-memory] [--threads N|default]"

/** `--latent 128x128` or `--latent 64` → [h, w]. */
function parseLatent(text: string | undefined): [number, number] {
  if (text === undefined) return [128, 128]
  const parts = text.split("x").map(Number)
  const [h, w = h] = parts
  if (parts.length > 2 || !Number.isInteger(h) || !Number.isInteger(w) || h! < 8 || w! < 8) {
    throw new BenchError("BENCH_OPTION_INVALID", `--latent must be HxW or N (whole numbers ≥ 8), found "${text}".`)
  }
  return [h!, w!]
}

function wholeNumber(text: string | undefined, fallback: number, flag: string): number {
  if (text === undefined) return fallback
  const n = Number(text)
  if (!Number.isInteger(n) || n < 0) throw new BenchError("BENCH_OPTION_INVALID", `${flag} must be a whole number ≥ 0, found "${text}".`)
  return n
}

/** `--scenario pag-cost`: one JSON object (`--json`) or a short markdown table. */
async function runPagCost(values: Record<string, string | boolean | undefined>): Promise<number> {
  const options: PagCostOptions = {
    model: modelFolder(values["model"] as string | undefined),
    layers: (values["layers"] as string | undefined)?.split(",").map((s) => s.trim()),
    latent: parseLatent(values["latent"] as string | undefined),
    warmup: wholeNumber(values["warmup"] as string | undefined, 2, "--warmup"),
    runs: wholeNumber(values["runs"] as string | undefined, 7, "--runs"),
  }
  const machine = machineFacts()
  console.error(`bench: pag-cost on ${options.model}, latent ${options.latent.join("x")}, threads ${machine.threads}, load ${machine.loadAverage}…`)
  const result = await measurePagCost(options)
  let memory: Record<string, PagCostMemory> | undefined
  if (values["no-memory"] !== true) {
    process.env[PAG_COST_ENV] = JSON.stringify({ ...options, latent: result.latent })
    memory = {}
    for (const scenario of pagCostMemoryScenarios) memory[scenario.replace("pag-cost-memory-", "")] = await runChild<PagCostMemory>(scenario)
  }
  const { samples, ...summary } = result
  const out = { ...summary, memory, machine, samples }
  if (values["json"] === true) {
    console.log(JSON.stringify(out))
    return 0
  }
  const f = (ms: number): string => `${ms.toFixed(1)} ms`
  console.log(
    markdownTable({
      headers: ["what", "median", "vs CFG / single"],
      rows: [
        ["CFG step (original graph, 2 rows)", f(result.cfgStepMs), "1.00×"],
        ["CFG step (hooked graph, gates 0)", f(result.cfgHookedStepMs), `${(result.cfgHookedStepMs / result.cfgStepMs).toFixed(2)}×`],
        ["CFG + PAG, full (3 rows)", f(result.cfgPagFullStepMs), `${result.ratioFull.toFixed(2)}×`],
        ["CFG + PAG, split", f(result.cfgPagSplitStepMs), `${result.ratioSplit.toFixed(2)}×`],
        ["single row (original graph)", f(result.singleStepMs), "1.00×"],
        ["PAG only, full (2 rows)", f(result.pagOnlyFullStepMs), `${result.pagOnlyRatioFull.toFixed(2)}×`],
        ["PAG only, split", f(result.pagOnlySplitStepMs), `${result.pagOnlyRatioSplit.toFixed(2)}×`],
      ],
    }),
  )
  console.log(`\n${JSON.stringify(out)}`)
  return 0
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      threads: { type: "string" },
      only: { type: "string" },
      help: { type: "boolean", short: "h" },
      scenario: { type: "string" },
      json: { type: "boolean" },
      layers: { type: "string" },
      latent: { type: "string" },
      model: { type: "string" },
      runs: { type: "string" },
      warmup: { type: "string" },
      "no-memory": { type: "boolean" },
    },
  })
  if (values.help === true) {
    console.log(usage)
    return 0
  }
  if (values.threads !== undefined) process.env[THREADS_ENV] = values.threads // children inherit it
  try {
    benchThreads() // validates
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n${usage}`)
    return 2
  }
  if (values.scenario !== undefined) {
    if (values.scenario !== "pag-cost") {
      console.error(`bench: unknown scenario "${values.scenario}"; known: pag-cost.\n${usage}`)
      return 2
    }
    try {
      return await runPagCost(values)
    } catch (error) {
      if (error instanceof BenchError && error.code === "BENCH_OPTION_INVALID") {
        console.error(`bench: ${error.message}\n${usage}`)
        return 2
      }
      throw error
    }
  }
  const only = values.only?.split(",").map((s) => s.trim())
  const unknown = only?.filter((id) => !measures.some(([known]) => known === id)) ?? []
  if (unknown.length > 0) {
    console.error(`bench: unknown measurement ${unknown.join(", ")}.\n${usage}`)
    return 2
  }
  const started = performance.now()
  const machine = machineFacts()
  const sections: Section[] = []
  let failures = 0
  for (const [id, run] of measures) {
    if (only !== undefined && !only.includes(id)) continue
    const t0 = performance.now()
    console.error(`bench: ${id}…`)
    sections.push(
      await run().catch((error: unknown) => {
        failures++
        return failedSection(id, error)
      }),
    )
    console.error(`bench: ${id} took ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  }
  const report: Report = { machine, sections, totalSeconds: (performance.now() - started) / 1000 }
  console.log(renderMarkdown(report))
  await mkdir(resultsDir, { recursive: true })
  const file = path.join(resultsDir, "latest.json")
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`)
  console.error(`bench: wrote ${file}`)
  return failures > 0 ? 1 : 0
}

process.exitCode = await main()
