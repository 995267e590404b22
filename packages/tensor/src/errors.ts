/** Base class of every error thrown by `@pagkit/tensor`. */
export class TensorError extends Error {
  override readonly name: string = "TensorError"
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** A shape, dtype or size did not fit what an operation needs. */
export class ShapeError extends TensorError {
  override readonly name = "ShapeError"
  constructor(message: string, options?: { cause?: unknown }) {
    super("SHAPE_MISMATCH", message, options)
  }
}

/** Codes of {@link SafetensorsError}. */
export type SafetensorsErrorCode =
  | "SAFETENSORS_NOT_FOUND"
  | "SAFETENSORS_CORRUPT"
  | "SAFETENSORS_UNSUPPORTED_DTYPE"
  | "SAFETENSORS_MISSING_TENSOR"
  | "SAFETENSORS_CLOSED"
  | "SAFETENSORS_INVALID_INPUT"

/** A safetensors file could not be read or written; the message names the file and what to do. */
export class SafetensorsError extends TensorError {
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
export class ImageError extends TensorError {
  override readonly name = "ImageError"
  override readonly code: ImageErrorCode
  constructor(code: ImageErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options)
    this.code = code
  }
}
