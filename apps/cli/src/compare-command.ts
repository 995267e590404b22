import path from "node:path"
import { PipelineWorker } from "@pagkit/pipelines"
import { encodePng } from "@pagkit/tensor"
import type { CompareOptions } from "./args.js"
import { CliError } from "./errors.js"
import { composeGrid } from "./grid.js"
import { formatOf, transcodePng } from "./image-format.js"
import { userPath } from "./model-path.js"
import { checkOutputTargets, writeOutputs } from "./output-file.js"
import type { Reporter } from "./reporter.js"
import { prepareRun, readGuidanceFile, runSeed } from "./run-command.js"
import type { PreparedRun, RunOptions } from "./run-command.js"

/** One row of a comparison grid: a label and how its runs differ from the base options. */
export interface CompareRow {
  readonly label: string
  readonly options: RunOptions
  /** A guidance chain file for this row (`--row-guidance`). */
  readonly guidanceFile?: string
}

/** The rows: PAG scales × layer sets (either alone works), then one per `--row-guidance` file. */
export function compareRows(options: CompareOptions): CompareRow[] {
  const base: RunOptions = { ...options, command: "compare", numImages: 1 }
  const rows: CompareRow[] = []
  if (options.pagScales !== undefined || options.layerSets !== undefined) {
    for (const scale of options.pagScales ?? [undefined]) {
      for (const layers of options.layerSets ?? [undefined]) {
        const parts = [scale === undefined ? undefined : `pag ${scale}`, layers === undefined ? undefined : layers.join(",")]
        rows.push({
          label: parts.filter((p) => p !== undefined).join(" · "),
          options: { ...base, ...(scale === undefined ? {} : { pagScale: scale }), ...(layers === undefined ? {} : { pagLayers: layers }) },
        })
      }
    }
  }
  for (const file of options.rowGuidance) rows.push({ label: path.basename(file, ".json"), options: base, guidanceFile: file })
  if (rows.length === 0) {
    throw new CliError(`compare needs rows: --pag-scales 0,3, --layer-sets "mid;down.block_2" and/or --row-guidance chain.json (repeatable).`)
  }
  return rows
}

/** `pagkit compare`: runs every row × seed in one worker and writes one labelled grid image. */
export async function runCompare(options: CompareOptions, reporter: Reporter, signal: AbortSignal): Promise<string> {
  const started = Date.now()
  const out = userPath(options.out)
  const format = formatOf(out)
  await checkOutputTargets([out], { force: options.force })
  const rows = compareRows(options)
  const prepared: PreparedRun[] = []
  for (const row of rows) {
    prepared.push(await prepareRun(row.options, signal, row.guidanceFile === undefined ? {} : { guidance: readGuidanceFile(row.guidanceFile, "--row-guidance") }))
  }
  reporter.emit({ type: "start", command: "compare", model: prepared[0]!.modelDir, seeds: options.seeds })
  const worker = new PipelineWorker()
  const cells: Uint8Array[][] = []
  const warnings = new Set<string>()
  let className = ""
  try {
    for (const [r, run] of prepared.entries()) {
      const row: Uint8Array[] = []
      for (const seed of options.seeds) {
        const output = await runSeed(worker, { prepared: run, seed, label: `compare ${rows[r]!.label} seed ${seed}`, reporter, signal })
        className = output.className
        for (const w of output.warnings) warnings.add(w)
        if (output.images === undefined) throw new CliError(`the pipeline returned no images.`, { code: "NO_IMAGES", exitCode: 1 })
        row.push((await encodePng(output.images))[0]!)
      }
      cells.push(row)
    }
  } finally {
    await worker.close()
  }
  for (const message of warnings) reporter.emit({ type: "warning", message })
  const { png, layout } = await composeGrid({ cells, rowLabels: rows.map((r) => r.label), columnLabels: options.seeds.map((s) => `seed ${s}`) })
  const [written] = await writeOutputs([{ path: out, bytes: await transcodePng(png, format, options.quality) }], { force: options.force })
  reporter.emit({ type: "output", file: written!, width: layout.width, height: layout.height, format })
  reporter.emit({ type: "done", files: [written!], seconds: (Date.now() - started) / 1000, pipeline: className })
  return written!
}
