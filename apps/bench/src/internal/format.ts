// Number formatting and markdown tables for the report.
import type { Summary, TimeSummary } from "./stats.js"
import { ratio } from "./stats.js"
import { BenchError } from "../errors.js"

/** Milliseconds with 3 significant digits (`"12.3 ms"`, `"1.23 s"` from 1000 ms). */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a"
  if (Math.abs(ms) >= 1000) return `${(ms / 1000).toPrecision(3)} s`
  return `${ms.toPrecision(3)} ms`
}

/** A timing summary as `"median ±spread %"`, e.g. `"12.3 ms ±4 %"` (spread = interquartile range / median). */
export function formatSummary(summary: Summary): string {
  return `${formatMs(summary.median)} ±${Math.round(summary.relativeSpread * 100)} %`
}

/** Column headers matching {@link timeCells}. */
export const TIME_HEADERS = ["wall time", "vs raw", "CPU time", "vs raw (CPU)"] as const

/**
 * Four cells: wall median ±spread, its ratio to `baseline`'s wall median, then the same for CPU time.
 * @example
 * timeCells(pagkit, raw) // ["12.4 ms ±3 %", "1.02×", "12.1 ms ±2 %", "1.01×"]
 */
export function timeCells(time: TimeSummary, baseline: TimeSummary): string[] {
  return [
    formatSummary(time.wall),
    formatRatio(ratio(time.wall.median, baseline.wall.median)),
    formatSummary(time.cpu),
    formatRatio(ratio(time.cpu.median, baseline.cpu.median)),
  ]
}

/** Bytes in MiB with one decimal (`"12.5 MiB"`), signed when `signed` is true (`"+0.3 MiB"`). */
export function formatMiB(bytes: number, signed = false): string {
  if (!Number.isFinite(bytes)) return "n/a"
  const mib = (bytes / 2 ** 20).toFixed(1)
  return signed && bytes >= 0 ? `+${mib} MiB` : `${mib} MiB`
}

/** A ratio as `"1.23×"` (`"n/a"` when not finite). */
export function formatRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : "n/a"
}

/** A fraction as a signed percentage with one decimal (`"+2.5 %"`). */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return "n/a"
  const pct = (fraction * 100).toFixed(1)
  return fraction >= 0 ? `+${pct} %` : `${pct} %`
}

/** A table: header cells, then rows of the same width. */
export interface Table {
  readonly headers: readonly string[]
  readonly rows: readonly (readonly string[])[]
}

function escapeCell(cell: string): string {
  return cell.replaceAll("|", "\\|").replaceAll("\n", " ")
}

/**
 * A GitHub-flavoured markdown table, columns padded to equal width; the first column is left-aligned,
 * the others right-aligned (they hold numbers).
 * @example
 * markdownTable({ headers: ["a", "b"], rows: [["x", "1"]] })
 * // | a | b |
 * // |:--|--:|
 * // | x | 1 |
 */
export function markdownTable(table: Table): string {
  const width = table.headers.length
  for (const [i, row] of table.rows.entries()) {
    if (row.length !== width) {
      throw new BenchError("BENCH_TABLE_SHAPE", `table row ${i} has ${row.length} cells but there are ${width} headers; give every row one cell per header.`)
    }
  }
  const cells = [table.headers, ...table.rows].map((row) => row.map(escapeCell))
  const widths = table.headers.map((_, c) => Math.max(3, ...cells.map((row) => row[c]!.length)))
  const line = (row: readonly string[]): string =>
    `| ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(" | ")} |`
  const rule = `|${widths.map((w, c) => (c === 0 ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`)).join("|")}|`
  return [line(cells[0]!), rule, ...cells.slice(1).map(line)].join("\n")
}
