import { discoverCases, unreadableMeta } from "./discover.js"
import type { CaseFile, CaseKind, CaseResult, RunContext } from "./kind.js"

/** Totals of a run. */
export interface RunSummary {
  readonly passed: number
  readonly failed: number
  readonly skipped: number
  readonly results: readonly CaseResult[]
}

/** Options of {@link runConformance}. */
export interface RunOptions {
  readonly oracleDir: string
  readonly kinds: readonly CaseKind[]
  readonly context: RunContext
  /** Only cases whose path contains this text. */
  readonly filter?: string
  /** Called with each result as soon as it is known. */
  readonly onResult?: (result: CaseResult) => void
}

async function runCase(file: CaseFile, kinds: readonly CaseKind[], context: RunContext): Promise<CaseResult[]> {
  const unreadable = file.meta[unreadableMeta] as string | undefined
  if (unreadable !== undefined) return [{ name: `? ${file.relPath}`, status: "fail", detail: unreadable }]
  const kind = kinds.find((k) => k.detect(file))
  if (kind === undefined) {
    return [{ name: `? ${file.relPath}`, status: "fail", detail: "no case kind recognises this file (unknown layout)" }]
  }
  try {
    const results = await kind.run(file, context)
    if (results.length === 0) return [{ name: `${kind.name} ${file.relPath}`, status: "fail", detail: "the kind ran no comparison" }]
    return results
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
    return [{ name: `${kind.name} ${file.relPath}`, status: "fail", detail: `could not run: ${message.split("\n")[0]}` }]
  }
}

/** Runs every case of an oracle folder. */
export async function runConformance(options: RunOptions): Promise<RunSummary> {
  const files = (await discoverCases(options.oracleDir)).filter(
    (f) => options.filter === undefined || f.relPath.includes(options.filter),
  )
  const results: CaseResult[] = []
  for (const file of files) {
    for (const result of await runCase(file, options.kinds, options.context)) {
      results.push(result)
      options.onResult?.(result)
    }
  }
  const count = (status: CaseResult["status"]): number => results.filter((r) => r.status === status).length
  return { passed: count("pass"), failed: count("fail"), skipped: count("skip"), results }
}
