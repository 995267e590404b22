/** Base class of every error thrown by `@pagkit/pipelines`. */
export class PipelineError extends Error {
  override readonly name: string = "PipelineError"
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** A call option is missing, unknown or out of range. */
export class InvalidOptionError extends PipelineError {
  override readonly name = "InvalidOptionError"
  constructor(message: string, options?: { cause?: unknown }) {
    super("INVALID_OPTION", message, options)
  }
}

/** The run was stopped through its `AbortSignal`. */
export class AbortedError extends PipelineError {
  override readonly name = "AbortedError"
  constructor(step: number, total: number) {
    super("ABORTED", `the run was aborted after step ${step} of ${total}.`)
  }
}
