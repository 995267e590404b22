// Measurement 4: RSS of one PAG text-to-image pipeline, then of fromPipe img2img + inpainting (shared sessions),
// vs a second fromPretrained (a copy), each scenario in its own process.
import { AutoPipelineForImage2Image, AutoPipelineForInpainting, AutoPipelineForText2Image } from "@pagkit/pipelines"
import type { SdxlText2ImagePipeline } from "@pagkit/pipelines"
import { tinyModelPath } from "@pagkit/tiny-models"
import { runChild } from "../internal/child.js"
import { pagkitSessionOptions } from "../internal/config.js"
import { formatMiB, formatPercent } from "../internal/format.js"
import { memorySnapshot } from "../internal/timing.js"
import type { MemorySnapshot } from "../internal/timing.js"
import type { Section } from "../report.js"
import { unknownScenario } from "../errors.js"

interface MemoryScenario {
  readonly label: string
  /** What is done after the first pipeline is loaded. */
  readonly then: (first: SdxlText2ImagePipeline) => Promise<readonly unknown[]>
}

function loadPagText2Image(): Promise<SdxlText2ImagePipeline> {
  return AutoPipelineForText2Image.fromPretrained(tinyModelPath("tiny-sdxl"), {
    enablePag: true,
    pagAppliedLayers: ["mid"],
    sessionOptions: pagkitSessionOptions(),
  })
}

const scenarios: Record<string, MemoryScenario> = {
  "mem-one": { label: "nothing more (control)", then: async () => [] },
  "mem-from-pipe": {
    label: "AutoPipelineForImage2Image.fromPipe + AutoPipelineForInpainting.fromPipe",
    then: async (first) => [AutoPipelineForImage2Image.fromPipe(first), AutoPipelineForInpainting.fromPipe(first)],
  },
  "mem-second-load": { label: "a second AutoPipelineForText2Image.fromPretrained (a copy)", then: async () => [await loadPagText2Image()] },
}

/** Keeps the measured pipelines reachable, so the GC before a snapshot cannot free them. */
const retained: unknown[] = []

/** What one scenario's process reports (bytes). */
interface MemoryChildResult {
  readonly idle: MemorySnapshot
  readonly afterFirst: MemorySnapshot
  readonly afterThen: MemorySnapshot
}

/** Child side: RSS after imports, after loading one PAG pipeline, after the scenario's second action. */
export async function pipelineMemoryChild(name: string): Promise<MemoryChildResult> {
  const scenario = scenarios[name]
  if (scenario === undefined) throw unknownScenario("memory", name, Object.keys(scenarios))
  const idle = await memorySnapshot()
  const first = await loadPagText2Image()
  const afterFirst = await memorySnapshot()
  const kept = await scenario.then(first)
  const afterThen = await memorySnapshot()
  retained.push(first, ...kept)
  return { idle, afterFirst, afterThen }
}

/** Names of the child scenarios of this measurement. */
export const pipelineMemoryScenarios: readonly string[] = Object.keys(scenarios)

/** Runs each scenario in its own process and tabulates RSS growth. */
export async function measurePipelineMemory(): Promise<Section> {
  const rows: string[][] = []
  const data: Record<string, MemoryChildResult> = {}
  for (const [name, scenario] of Object.entries(scenarios)) {
    const r = await runChild<MemoryChildResult>(name)
    data[name] = r
    const load = r.afterFirst.rss - r.idle.rss
    const added = r.afterThen.rss - r.afterFirst.rss
    rows.push([
      scenario.label,
      formatMiB(r.afterFirst.rss),
      formatMiB(load, true),
      formatMiB(added, true),
      formatPercent(added / load),
      formatPercent(added / r.afterFirst.rss),
    ])
  }
  return {
    id: "pipelineMemory",
    title: "4. Memory of pipelines sharing sessions (fromPipe) vs a second load",
    summary:
      `Each row is a fresh process (RSS after a full GC): load one PAG text-to-image pipeline of tiny-sdxl, then do the ` +
      `row's action. "added" is the RSS growth of that action, as a share of what loading the first pipeline added ` +
      `and of the whole process's RSS. fromPipe shares every session, so it should add well under 5 %; a second ` +
      `fromPretrained loads every model again.`,
    table: { headers: ["after loading one PAG pipeline, then", "RSS after 1st load", "1st load added", "action added", "vs 1st load", "vs process RSS"], rows },
    data,
  }
}
