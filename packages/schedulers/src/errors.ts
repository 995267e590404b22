/** Base class of every error `@pagkit/schedulers` throws. */
export class SchedulerError extends Error {
  override readonly name: string = "SchedulerError"
  readonly code: string = "SCHEDULER_ERROR"
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A `_class_name` no registered factory handles. */
export class UnknownSchedulerError extends SchedulerError {
  override readonly name = "UnknownSchedulerError"
  override readonly code = "UNKNOWN_SCHEDULER"
}

/** A config value diffusers rejects (unknown schedule, prediction type, conflicting options, wrong type). */
export class InvalidSchedulerConfigError extends SchedulerError {
  override readonly name = "InvalidSchedulerConfigError"
  override readonly code = "INVALID_SCHEDULER_CONFIG"
}

/** A bad argument to `setTimesteps`, `step`, `addNoise` or the img2img helpers (step count, strength, timestep). */
export class SchedulerArgumentError extends SchedulerError {
  override readonly name = "SchedulerArgumentError"
  override readonly code = "SCHEDULER_ARGUMENT"
}

/** A method called in the wrong order (e.g. `step` before `setTimesteps`, a stochastic step without generator). */
export class SchedulerStateError extends SchedulerError {
  override readonly name = "SchedulerStateError"
  override readonly code = "SCHEDULER_STATE"
}
