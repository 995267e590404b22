// The bench report: machine facts plus one section per measurement, as markdown and JSON.
import type { Table } from "./internal/format.js"
import { markdownTable } from "./internal/format.js"
import type { MachineFacts } from "./internal/machine.js"

/** One measurement's result. */
export interface Section {
  /** Stable key in the JSON (e.g. `"unetCall"`). */
  readonly id: string
  readonly title: string
  /** One or two sentences: what was run and how to read the table. */
  readonly summary: string
  readonly table: Table
  /** Raw numbers behind the table (milliseconds, bytes), for the JSON file. */
  readonly data: unknown
}

/** A whole bench run. */
export interface Report {
  readonly machine: MachineFacts
  readonly sections: readonly Section[]
  /** Wall time of the whole bench, in seconds. */
  readonly totalSeconds: number
}

/** The report as markdown: a machine table, then each section's title, summary and table. */
export function renderMarkdown(report: Report): string {
  const m = report.machine
  const machine = markdownTable({
    headers: ["machine", "value"],
    rows: [
      ["CPU", m.cpu],
      ["logical cores", String(m.cores)],
      ["memory", `${m.memoryGiB} GiB`],
      ["platform", m.platform],
      ["node", m.node],
      ["onnxruntime-node", m.onnxruntime],
      ["intra-op threads", String(m.threads)],
      ["load average (1 min) at start", String(m.loadAverage)],
      ["date", m.date],
      ["bench wall time", `${report.totalSeconds.toFixed(0)} s`],
    ],
  })
  const busy =
    m.loadAverage > m.cores / 2
      ? `> The machine was busy (load average ${m.loadAverage} on ${m.cores} cores): wall-clock times swing; ` +
        `CPU-time ratios are steadier. Re-run on an idle machine for wall-clock numbers.\n`
      : undefined
  const sections = report.sections.map((s) => `## ${s.title}\n\n${s.summary}\n\n${markdownTable(s.table)}\n`)
  return [`# pagkit bench\n`, `${machine}\n`, ...(busy === undefined ? [] : [busy]), ...sections].join("\n")
}
