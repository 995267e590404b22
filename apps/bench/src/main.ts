/**
 * `pnpm bench [--threads N|default] [--only id,id]`: pagkit's speed and memory as ratios against raw onnxruntime on the
 * same machine, in the same run. Prints a markdown report and writes it as JSON to `apps/bench/results/latest.json`.
 * @module
 */
import { mkdir, writeFile } from "node:fs/promises"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { performance } from "node:perf_hooks"
import { parseArgs } from "node:util"
import { THREADS_ENV, benchThreads } from "./internal/config.js"
import { machineFacts } from "./internal/machine.js"
import { measureDenoiseStep } from "./measures/denoise-step.js"
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

const usage = `usage: pnpm bench [--threads N|default] [--only ${measures.map(([id]) => id).join(",")}]`

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { threads: { type: "string" }, only: { type: "string" }, help: { type: "boolean", short: "h" } },
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
