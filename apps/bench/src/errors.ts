/** What went wrong in a bench run. */
export type BenchErrorCode =
  | "BENCH_NO_SAMPLES"
  | "BENCH_OPTION_INVALID"
  | "BENCH_SCENARIO_UNKNOWN"
  | "BENCH_CHILD_FAILED"
  | "BENCH_TABLE_SHAPE"

/** The bench's error: a literal `code` and a message saying what was expected, what was found and what to do. */
export class BenchError extends Error {
  override readonly name = "BenchError"
  readonly code: BenchErrorCode

  constructor(code: BenchErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** A scenario name no measurement knows. */
export function unknownScenario(kind: string, name: string, known: readonly string[]): BenchError {
  return new BenchError("BENCH_SCENARIO_UNKNOWN", `unknown ${kind} scenario "${name}"; known: ${known.join(", ")}.`)
}
