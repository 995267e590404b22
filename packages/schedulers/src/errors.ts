import { PagkitError } from "@pagkit/tensor"

/** Codes of every {@link SchedulerError}. */
export type SchedulerErrorCode =
  | "SCHEDULER_ERROR"
  | "UNKNOWN_SCHEDULER"
  | "INVALID_SCHEDULER_CONFIG"
  | "SCHEDULER_ARGUMENT"
  | "SCHEDULER_STATE"

/** Base class of every error `@pagkit/schedulers` throws; each subclass has its literal `code`. */
export class SchedulerError<C extends SchedulerErrorCode = SchedulerErrorCode> extends PagkitError<C> {
  override readonly name: string = "SchedulerError"
  constructor(message: string, options?: { cause?: unknown }) {
    super("SCHEDULER_ERROR" as C, message, options)
  }
}

/** A `_class_name` no registered factory handles. */
export class UnknownSchedulerError extends SchedulerError<"UNKNOWN_SCHEDULER"> {
  override readonly name = "UnknownSchedulerError"
  override readonly code = "UNKNOWN_SCHEDULER"
}

/** A config value diffusers rejects (unknown schedule, prediction type, conflicting options, wrong type, out of range). */
export class InvalidSchedulerConfigError extends SchedulerError<"INVALID_SCHEDULER_CONFIG"> {
  override readonly name = "InvalidSchedulerConfigError"
  override readonly code = "INVALID_SCHEDULER_CONFIG"
}

/** A bad argument to `setTimesteps`, `step`, `addNoise` or the img2img helpers (step count, strength, timestep). */
export class SchedulerArgumentError extends SchedulerError<"SCHEDULER_ARGUMENT"> {
  override readonly name = "SchedulerArgumentError"
  override readonly code = "SCHEDULER_ARGUMENT"
}

/** A method called in the wrong order (e.g. `step` before `setTimesteps`, a stochastic step without generator). */
export class SchedulerStateError extends SchedulerError<"SCHEDULER_STATE"> {
  override readonly name = "SchedulerStateError"
  override readonly code = "SCHEDULER_STATE"
}
