import { PagkitError } from "@pagkit/tensor"

/** Codes of every {@link GuidanceError}. */
export type GuidanceErrorCode =
  | "GUIDANCE_INVALID_OPTIONS"
  | "GUIDANCE_DUPLICATE_MIDDLEWARE"
  | "GUIDANCE_BRANCH_CONFLICT"
  | "GUIDANCE_UNDECLARED_HOOK"
  | "GUIDANCE_MISSING_PREDICTION"
  | "GUIDANCE_PREDICTION_SHAPE"

/** Base class of every error thrown by the guidance packages (`@pagkit/guidance`, `-cfg`, `-pag`). */
export class GuidanceError<C extends GuidanceErrorCode = GuidanceErrorCode> extends PagkitError<C> {
  override readonly name: string = "GuidanceError"
}

/** A middleware factory got options it cannot use (negative scale, empty window, …). Thrown once, at creation. */
export class GuidanceOptionsError extends GuidanceError {
  override readonly name = "GuidanceOptionsError"
  override readonly code = "GUIDANCE_INVALID_OPTIONS"
  constructor(message: string, options?: { cause?: unknown }) {
    super("GUIDANCE_INVALID_OPTIONS", message, options)
  }
}

/** Two middlewares of the same name were put in one chain. */
export class DuplicateMiddlewareError extends GuidanceError {
  override readonly name = "DuplicateMiddlewareError"
  override readonly code = "GUIDANCE_DUPLICATE_MIDDLEWARE"
  constructor(message: string, options?: { cause?: unknown }) {
    super("GUIDANCE_DUPLICATE_MIDDLEWARE", message, options)
  }
}

/** Two middlewares asked for a branch of the same name with different conditioning or hooks. */
export class BranchConflictError extends GuidanceError {
  override readonly name = "BranchConflictError"
  override readonly code = "GUIDANCE_BRANCH_CONFLICT"
  constructor(message: string, options?: { cause?: unknown }) {
    super("GUIDANCE_BRANCH_CONFLICT", message, options)
  }
}

/** A branch activates a hook its middleware did not declare in `hooks`. */
export class UndeclaredHookError extends GuidanceError {
  override readonly name = "UndeclaredHookError"
  override readonly code = "GUIDANCE_UNDECLARED_HOOK"
  constructor(message: string, options?: { cause?: unknown }) {
    super("GUIDANCE_UNDECLARED_HOOK", message, options)
  }
}

/** A middleware read a branch that was not computed for this step. */
export class MissingPredictionError extends GuidanceError {
  override readonly name = "MissingPredictionError"
  override readonly code = "GUIDANCE_MISSING_PREDICTION"
  constructor(message: string, options?: { cause?: unknown }) {
    super("GUIDANCE_MISSING_PREDICTION", message, options)
  }
}

/** The denoiser returned a tensor whose rows, shape or dtype do not fit the plan. */
export class PredictionShapeError extends GuidanceError {
  override readonly name = "PredictionShapeError"
  override readonly code = "GUIDANCE_PREDICTION_SHAPE"
  constructor(message: string, options?: { cause?: unknown }) {
    super("GUIDANCE_PREDICTION_SHAPE", message, options)
  }
}
