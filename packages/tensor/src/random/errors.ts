import { TensorError } from "../errors.js"

/** A generator seed was not an integer in [0, 2^64). */
export class InvalidSeedError extends TensorError {
  override readonly name = "InvalidSeedError"
  constructor(message: string, options?: { cause?: unknown }) {
    super("INVALID_SEED", message, options)
  }
}

/** A random draw was asked for a dtype the generator cannot produce. */
export class UnsupportedRandomDTypeError extends TensorError {
  override readonly name = "UnsupportedRandomDTypeError"
  constructor(message: string, options?: { cause?: unknown }) {
    super("UNSUPPORTED_RANDOM_DTYPE", message, options)
  }
}
