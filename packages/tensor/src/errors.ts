import { PagkitError } from "./pagkit-error.js"

/** Codes of every {@link TensorError}. */
export type TensorErrorCode =
  | "SHAPE_MISMATCH"
  | "TENSOR_NON_FINITE"
  | SafetensorsErrorCode
  | ImageErrorCode
  | "INVALID_SEED"
  | "UNSUPPORTED_RANDOM_DTYPE"
  | "INVALID_GENERATOR_STATE"

/** Base class of every error thrown by `@pagkit/tensor`. */
export class TensorError<C extends TensorErrorCode = TensorErrorCode> extends PagkitError<C> {
  override readonly name: string = "TensorError"
}

/** A shape, dtype or size did not fit what an operation needs. */
export class ShapeError extends TensorError<"SHAPE_MISMATCH"> {
  override readonly name = "ShapeError"
  constructor(message: string, options?: { cause?: unknown }) {
    super("SHAPE_MISMATCH", message, options)
  }
}

/** Codes of {@link SafetensorsError}. */
export type SafetensorsErrorCode =
  | "SAFETENSORS_NOT_FOUND"
  | "SAFETENSORS_CORRUPT"
  | "SAFETENSORS_WRONG_FORMAT"
  | "SAFETENSORS_UNSUPPORTED_DTYPE"
  | "SAFETENSORS_MISSING_TENSOR"
  | "SAFETENSORS_CLOSED"
  | "SAFETENSORS_INVALID_INPUT"

/** A safetensors file could not be read or written; the message names the file and what to do. */
export class SafetensorsError extends TensorError<SafetensorsErrorCode> {
  override readonly name = "SafetensorsError"
  override readonly code: SafetensorsErrorCode
  constructor(code: SafetensorsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.code = code
  }
}

/** Codes of {@link ImageError}. */
export type ImageErrorCode = "IMAGE_UNREADABLE" | "IMAGE_INVALID_TENSOR" | "IMAGE_WRITE_FAILED"

/** An image could not be decoded, encoded or written; the message names the file when there is one. */
export class ImageError extends TensorError<ImageErrorCode> {
  override readonly name = "ImageError"
  override readonly code: ImageErrorCode
  constructor(code: ImageErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.code = code
  }
}
