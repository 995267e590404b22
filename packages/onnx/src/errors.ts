import { PagkitError } from "@pagkit/tensor"

/** Codes of every {@link OnnxError}. */
export type OnnxErrorCode =
  | "ONNX_MODEL_NOT_FOUND"
  | "ONNX_MODEL_LOAD_FAILED"
  | "ONNX_EXTERNAL_DATA_MISSING"
  | "ONNX_EXTERNAL_DATA_REFUSED"
  | "ONNX_PROTO_INVALID"
  | "ONNX_INPUT_UNKNOWN"
  | "ONNX_INPUT_MISSING"
  | "ONNX_INPUT_INVALID"
  | "ONNX_OUTPUT_UNKNOWN"
  | "ONNX_RUN_FAILED"
  | "ONNX_SESSION_RELEASED"
  | "ONNX_LAYER_INDEX_EMPTY"
  | "ONNX_LAYER_PATTERN"
  | "ONNX_HOOK_FAILED"

/** Base class of every error thrown by `@pagkit/onnx`. */
export class OnnxError<C extends OnnxErrorCode = OnnxErrorCode> extends PagkitError<C> {
  override readonly name: string = "OnnxError"
}

/** Codes of {@link ModelLoadError}. */
export type ModelLoadErrorCode =
  | "ONNX_MODEL_NOT_FOUND"
  | "ONNX_MODEL_LOAD_FAILED"
  | "ONNX_EXTERNAL_DATA_MISSING"
  | "ONNX_EXTERNAL_DATA_REFUSED"

/**
 * A model file (or its external data) could not be found or loaded. `ONNX_EXTERNAL_DATA_REFUSED`: onnxruntime
 * found the external data but refused it because it resolves outside the model's folder (a symlink, or `..`).
 */
export class ModelLoadError extends OnnxError {
  override readonly name = "ModelLoadError"
  override readonly code: ModelLoadErrorCode
  constructor(
    code: ModelLoadErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options)
    this.code = code
  }
}

/** The bytes are not a valid ONNX ModelProto (not ONNX, truncated, corrupt). */
export class OnnxProtoError extends OnnxError {
  override readonly name = "OnnxProtoError"
  override readonly code = "ONNX_PROTO_INVALID" as const
  constructor(message: string, options?: { cause?: unknown }) {
    super("ONNX_PROTO_INVALID", message, options)
  }
}

/** A feed does not fit the model's inputs: unknown name, missing input, wrong rank, dtype or size. */
export class InputError extends OnnxError {
  override readonly name = "InputError"
  override readonly code: "ONNX_INPUT_UNKNOWN" | "ONNX_INPUT_MISSING" | "ONNX_INPUT_INVALID"
  /** The model input concerned. */
  readonly input: string
  constructor(
    code: "ONNX_INPUT_UNKNOWN" | "ONNX_INPUT_MISSING" | "ONNX_INPUT_INVALID",
    input: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options)
    this.code = code
    this.input = input
  }
}

/** A run failed inside onnxruntime, asked for an unknown output, or used a released session. */
export class RunError extends OnnxError {
  override readonly name = "RunError"
  override readonly code: "ONNX_OUTPUT_UNKNOWN" | "ONNX_RUN_FAILED" | "ONNX_SESSION_RELEASED"
  constructor(
    code: "ONNX_OUTPUT_UNKNOWN" | "ONNX_RUN_FAILED" | "ONNX_SESSION_RELEASED",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options)
    this.code = code
  }
}

/** No module paths could be recovered from a graph. */
export class LayerIndexError extends OnnxError {
  override readonly name = "LayerIndexError"
  override readonly code = "ONNX_LAYER_INDEX_EMPTY" as const
  constructor(message: string, options?: { cause?: unknown }) {
    super("ONNX_LAYER_INDEX_EMPTY", message, options)
  }
}

/** A layer pattern matched nothing (or is malformed); the message lists the available layers. */
export class LayerPatternError extends OnnxError {
  override readonly name = "LayerPatternError"
  override readonly code = "ONNX_LAYER_PATTERN" as const
  /** The pattern that failed. */
  readonly pattern: string
  constructor(pattern: string, message: string, options?: { cause?: unknown }) {
    super("ONNX_LAYER_PATTERN", message, options)
    this.pattern = pattern
  }
}

/** A hook could not be installed on a graph (the expected tensors were not found). */
export class HookError extends OnnxError {
  override readonly name = "HookError"
  override readonly code = "ONNX_HOOK_FAILED" as const
  constructor(message: string, options?: { cause?: unknown }) {
    super("ONNX_HOOK_FAILED", message, options)
  }
}
