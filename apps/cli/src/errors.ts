/**
 * Exit codes of the `pagkit` command (documented in the README).
 * - 0: done; 1: the run failed (a library rejected the input, a model failed, a file could not be written);
 * - 2: the command line cannot be run as given (unknown option, bad value, missing input, refused `--out`): nothing ran;
 * - 70: unexpected internal error (a bug: please report it); 130: stopped by the user (Ctrl-C), nothing written.
 */
export const EXIT = Object.freeze({ ok: 0, runtime: 1, usage: 2, internal: 70, aborted: 130 })

/** A user error found by the CLI itself: printed without a stack trace, with a literal `code` (exit 2 unless said). */
export class CliError extends Error {
  override readonly name = "CliError"
  /** Literal code, e.g. `USAGE`, `OUTPUT_EXISTS`, `MODEL_NOT_FOUND`; the `--json` error event carries it. */
  readonly code: string
  readonly exitCode: number

  constructor(message: string, options: { code?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = options.code ?? "USAGE"
    this.exitCode = options.exitCode ?? EXIT.usage
  }
}

/** The user stopped the run (Ctrl-C) before the pipeline did: exit 130, nothing written. */
export class UserAbortError extends CliError {
  constructor(message = "stopped by the user (Ctrl-C); nothing was written.") {
    super(message, { code: "ABORTED", exitCode: EXIT.aborted })
  }
}

/** How an error ends the process: its exit code, `code` for `--json`, and whether it is a bug (stack printed). */
export function classifyError(error: unknown): { exitCode: number; code: string; message: string; bug: boolean } {
  if (error instanceof CliError) return { exitCode: error.exitCode, code: error.code, message: error.message, bug: false }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    if (code === "ABORTED" || error.name === "AbortedError") {
      return { exitCode: EXIT.aborted, code: "ABORTED", message: `${error.message} Nothing was written.`, bug: false }
    }
    // Errors the libraries raise for bad input carry a string `code`: the user's to fix, so no stack trace.
    if (typeof code === "string") return { exitCode: EXIT.runtime, code, message: error.message, bug: false }
    return { exitCode: EXIT.internal, code: "INTERNAL", message: error.stack ?? error.message, bug: true }
  }
  return { exitCode: EXIT.internal, code: "INTERNAL", message: String(error), bug: true }
}
