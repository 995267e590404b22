/** One reference case file found in an oracle folder. */
export interface CaseFile {
  /** Path relative to the oracle folder, e.g. `schedulers/09-DPMSolverMultistepScheduler-10.json`. */
  readonly relPath: string
  /** Absolute path of the `.json` metadata file (or of the `.safetensors` when there is no json). */
  readonly path: string
  /** Absolute path of the sibling `.safetensors` file, when it exists. */
  readonly tensorsPath: string | undefined
  /** Parsed JSON metadata (`{}` when there is no json file). */
  readonly meta: Record<string, any>
  /** The oracle folder (root of the run). */
  readonly oracleDir: string
}

/** Outcome of one comparison. */
export interface CaseResult {
  /** Printed name, e.g. `torch-randn f32.seed0.1x4x8x8`. */
  readonly name: string
  readonly status: "pass" | "fail" | "skip"
  /** One short line: measured error vs tolerance, or why it failed / was skipped. */
  readonly detail: string
  /**
   * How many tensors or values were compared, when the kind counts them. A "pass" with 0 comparisons is turned
   * into a failure by the runner: a case that compares nothing proves nothing.
   */
  readonly comparisons?: number
}

/** What the runner gives every kind. */
export interface RunContext {
  /** Folder holding the tiny models (`packages/tiny-models/models`); `meta.models` paths resolve under it. */
  readonly modelsDir: string
  /** Prints a progress note (stderr). */
  readonly log: (message: string) => void
}

/**
 * A kind of reference case. `detect` looks only at the file name and metadata;
 * `run` returns one or more results (a file may hold many cases) and should not throw —
 * the runner turns a throw into a failed case carrying the error message.
 */
export interface CaseKind {
  readonly name: string
  /** The tolerances this kind applies, printed once at the start of a run. */
  readonly tolerances: string
  detect(file: CaseFile): boolean
  run(file: CaseFile, ctx: RunContext): Promise<CaseResult[]>
}
