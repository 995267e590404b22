import { PagkitError } from "@pagkit/tensor"

/** Codes of every {@link PipelineError}. */
export type PipelineErrorCode =
  | "INVALID_OPTION"
  | "ABORTED"
  | "NON_FINITE"
  | "MISSING_CONDITIONING"
  | "NO_IMAGES"
  | "NO_IP_ADAPTER"
  | "NO_UNET_PATH"
  | "WRITE_FAILED"
  | "HOOK_NOT_INSTALLED"
  | "PAG_NOT_INSTALLED"
  | "CONTROLNET_REQUIRED"
  | "WRONG_PIPELINE"
  | "UNSUPPORTED_PIPELINE"
  | "UNSUPPORTED_OPTION"
  | "WORKER_FAILED"
  | "WORKER_CLOSED"
  | "UNSUPPORTED_TASK"
  | "HOOK_TARGET_UNKNOWN"
  | "EMPTY_LAYER_LIST"
  | "PLUGINS_NOT_LOADED"

/** Base class of every error thrown by `@pagkit/pipelines`. */
export class PipelineError<C extends PipelineErrorCode = PipelineErrorCode> extends PagkitError<C> {
  override readonly name: string = "PipelineError"
}

/** A call option is missing, unknown or out of range. */
export class InvalidOptionError extends PipelineError<"INVALID_OPTION"> {
  override readonly name = "InvalidOptionError"
  constructor(message: string, options?: { cause?: unknown }) {
    super("INVALID_OPTION", message, options)
  }
}

/**
 * The run was stopped through its `AbortSignal`: between two steps, or after the last step (before decoding,
 * `step === total`). Throw this (never `PipelineError("ABORTED")`) so `instanceof AbortedError` holds.
 * @example
 * if (signal?.aborted === true) throw new AbortedError(numSteps, numSteps) // after the last step, before decoding
 */
export class AbortedError extends PipelineError<"ABORTED"> {
  override readonly name = "AbortedError"
  constructor(step: number, total: number, options?: { cause?: unknown }) {
    super("ABORTED", step >= total && total > 0 ? `the run was aborted after its last step (${total} of ${total}), before decoding.` : `the run was aborted after step ${step} of ${total}.`, options)
  }
}

/**
 * Latents or images hold NaN or ±Infinity: the run would write a black or garbage image. The message names the
 * step and the likely cause; pass `allowNonFinite: true` to the loop to let such values through.
 */
export class NonFiniteError extends PipelineError<"NON_FINITE"> {
  override readonly name = "NonFiniteError"
  /** 0-based step after which the values went non-finite, or `undefined` for decoded images. */
  readonly step: number | undefined
  constructor(message: string, step: number | undefined, options?: { cause?: unknown }) {
    super("NON_FINITE", message, options)
    this.step = step
  }
}
