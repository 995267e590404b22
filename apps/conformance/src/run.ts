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
  /**
   * Report cases no kind can run (a diffusers pipeline class pagkit lacks) as skipped. Default false: they are
   * failures, so a run cannot pass on cases it never ran.
   */
  readonly allowSkip?: boolean
}

/** Applies the runner's rules to a kind's result: no pass on zero comparisons, no skip unless allowed. */
function judge(result: CaseResult, allowSkip: boolean): CaseResult {
  if (result.status === "pass" && result.comparisons === 0) {
    return { ...result, status: "fail", detail: `compared nothing (0 comparisons): ${result.detail}` }
  }
  if (result.status === "skip" && !allowSkip) {
    return { ...result, status: "fail", detail: `cannot run: ${result.detail} (pass --allow-skip to list such cases as skipped)` }
  }
  return result
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
    for (const raw of await runCase(file, options.kinds, options.context)) {
      const result = judge(raw, options.allowSkip ?? false)
      results.push(result)
      options.onResult?.(result)
    }
  }
  const count = (status: CaseResult["status"]): number => results.filter((r) => r.status === status).length
  return { passed: count("pass"), failed: count("fail"), skipped: count("skip"), results }
}
