import { PagkitError, reviveError as reviveFamilyError, serializeError as serializeFamilyError } from "@pagkit/tensor"
import type { SerializedError } from "@pagkit/tensor"
import { AbortedError, PipelineError } from "../errors.js"
import { pagkitErrorClasses } from "./error-classes.js"

/** An error as it crosses a thread: name, code, message, extra fields and, for bugs, the stack (`@pagkit/tensor`'s {@link SerializedError}). */
export type WireError = SerializedError

/**
 * An error thrown inside the pipeline worker whose class is not one of pagkit's (e.g. a custom guidance
 * middleware's), re-created with the same `name`, `code`, message and fields. pagkit's own errors come back as
 * their own classes instead.
 */
export class RemoteError extends PagkitError<string> {
  override readonly name: string
  /** The stack inside the worker. */
  readonly remoteStack: string | undefined

  constructor(wire: WireError & { code: string }, options?: { cause?: unknown }) {
    super(wire.code, wire.message, options)
    this.name = wire.name
    this.remoteStack = wire.stack
    Object.assign(this, wire.data)
  }
}

/** The worker thread crashed or exited while a run was going. */
export class WorkerFailedError extends PipelineError<"WORKER_FAILED"> {
  override readonly name = "WorkerFailedError"
  constructor(message: string, options?: { cause?: unknown }) {
    super("WORKER_FAILED", message, options)
  }
}

/** The `PipelineWorker` was closed: runs after `close()` are refused. */
export class WorkerClosedError extends PipelineError<"WORKER_CLOSED"> {
  override readonly name = "WorkerClosedError"
  constructor(message: string) {
    super("WORKER_CLOSED", message)
  }
}

const classes = [...pagkitErrorClasses, WorkerFailedError, WorkerClosedError]

/** Plain data for any thrown value (depth-limited along `cause`), fields included. */
export function serializeError(error: unknown): WireError {
  return serializeFamilyError(error)
}

function fallback(wire: WireError, cause: Error | undefined): Error {
  const options = cause === undefined ? undefined : { cause }
  if (wire.code === "ABORTED") {
    // A PipelineError("ABORTED") of older code: the run stopped through its signal all the same.
    const error = new AbortedError(0, 0, options)
    error.message = wire.message
    return error
  }
  if (wire.code !== undefined) return new RemoteError({ ...wire, code: wire.code }, options)
  const error = new Error(wire.message, options)
  error.name = wire.name
  if (wire.stack !== undefined) error.stack = wire.stack
  return error
}

/**
 * The error to throw on the host thread: every pagkit error class comes back as itself (so `instanceof
 * AbortedError`, `instanceof ModelFolderError` and `code` checks work as in-thread), other coded errors as
 * {@link RemoteError}, uncoded ones (bugs) as plain errors carrying the worker's stack.
 */
export function reviveError(wire: WireError): Error {
  if (wire.code === "ABORTED" && wire.name === "PipelineError") return fallback(wire, undefined)
  return reviveFamilyError(wire, classes, fallback)
}
