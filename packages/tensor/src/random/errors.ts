import { TensorError } from "../errors.js"

/** A generator seed was not an integer in [0, 2^64). */
export class InvalidSeedError extends TensorError<"INVALID_SEED"> {
  override readonly name = "InvalidSeedError"
  constructor(message: string, options?: { cause?: unknown }) {
    super("INVALID_SEED", message, options)
  }
}

/** A random draw was asked for a dtype the generator cannot produce. */
export class UnsupportedRandomDTypeError extends TensorError<"UNSUPPORTED_RANDOM_DTYPE"> {
  override readonly name = "UnsupportedRandomDTypeError"
  constructor(message: string, options?: { cause?: unknown }) {
    super("UNSUPPORTED_RANDOM_DTYPE", message, options)
  }
}

/** `setState` was given something that is not a snapshot from `getState()`. */
export class InvalidGeneratorStateError extends TensorError<"INVALID_GENERATOR_STATE"> {
  override readonly name = "InvalidGeneratorStateError"
  constructor(message: string, options?: { cause?: unknown }) {
    super("INVALID_GENERATOR_STATE", message, options)
  }
}
