import { AbortedError, InvalidOptionError, PipelineError } from "../errors.js"

/** An error as it crosses a thread: what the user sees (name, code, message) and, for bugs, the stack. */
export interface WireError {
  readonly name: string
  readonly message: string
  readonly code?: string
  readonly stack?: string
  readonly cause?: WireError
}

/** An error thrown inside the pipeline worker by another package (e.g. `LayerPatternError` from `@pagkit/onnx`), re-created with the same `name`, `code` and message. */
export class RemoteError extends PipelineError {
  override readonly name: string
  /** The stack inside the worker. */
  readonly remoteStack: string | undefined

  constructor(wire: WireError & { code: string }, options?: { cause?: unknown }) {
    super(wire.code, wire.message, options)
    this.name = wire.name
    this.remoteStack = wire.stack
  }
}

/** The worker thread crashed or exited while a run was going. */
export class WorkerFailedError extends PipelineError {
  override readonly name = "WorkerFailedError"
  constructor(message: string, options?: { cause?: unknown }) {
    super("WORKER_FAILED", message, options)
  }
}

/** The `PipelineWorker` was closed: runs after `close()` are refused. */
export class WorkerClosedError extends PipelineError {
  override readonly name = "WorkerClosedError"
  constructor(message: string) {
    super("WORKER_CLOSED", message)
  }
}

/** Plain data for any thrown value (depth-limited along `cause`). */
export function serializeError(error: unknown, depth = 0): WireError {
  if (!(error instanceof Error)) return { name: "Error", message: `non-error thrown: ${String(error)}` }
  const code = (error as { code?: unknown }).code
  const cause = (error as { cause?: unknown }).cause
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === "string" ? { code } : {}),
    ...(error.stack === undefined ? {} : { stack: error.stack }),
    ...(cause === undefined || depth >= 3 ? {} : { cause: serializeError(cause, depth + 1) }),
  }
}

/**
 * The error to throw on the host thread: this package's own classes come back as themselves (so
 * `instanceof AbortedError` holds), other coded errors as {@link RemoteError}, uncoded ones (bugs) as plain errors
 * carrying the worker's stack.
 */
export function reviveError(wire: WireError): Error {
  const options = wire.cause === undefined ? undefined : { cause: reviveError(wire.cause) }
  if (wire.code === "ABORTED") {
    // Also the pipelines' "aborted before decoding": either way the run stopped through its signal.
    const error = new AbortedError(0, 0)
    error.message = wire.message
    return error
  }
  if (wire.name === "InvalidOptionError" && wire.code === "INVALID_OPTION") return new InvalidOptionError(wire.message, options)
  if (wire.name === "PipelineError" && wire.code !== undefined) return new PipelineError(wire.code, wire.message, options)
  if (wire.name === "WorkerFailedError") return new WorkerFailedError(wire.message, options)
  if (wire.code !== undefined) return new RemoteError({ ...wire, code: wire.code }, options)
  const error = new Error(wire.message, options)
  error.name = wire.name
  if (wire.stack !== undefined) error.stack = wire.stack
  return error
}
