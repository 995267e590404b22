/** Codes of every {@link TorchPickleError}. */
export type TorchPickleErrorCode =
  /** A GLOBAL / STACK_GLOBAL names something `torch.load(weights_only=True)` would not import. */
  | "TORCH_PICKLE_GLOBAL_NOT_ALLOWED"
  /** REDUCE / NEWOBJ / BUILD applied to something that is not an allowed callable or class. */
  | "TORCH_PICKLE_CALL_NOT_ALLOWED"
  /** Allowed by torch, but not a form this reader builds (quantized / sparse tensors, complex, sets, …). */
  | "TORCH_PICKLE_UNSUPPORTED"
  /** The pickle stream is truncated or inconsistent (stack underflow, unknown opcode, dangling memo, …). */
  | "TORCH_PICKLE_MALFORMED"
  /** The container is not a `torch.save` zip (or its zip structure is broken). */
  | "TORCH_PICKLE_BAD_ARCHIVE"
  /** A storage record is compressed; only stored (uncompressed) records are read. */
  | "TORCH_PICKLE_COMPRESSED_STORAGE"
  /** The pre-1.6 (non-zip) `torch.save` format. */
  | "TORCH_PICKLE_LEGACY_FORMAT"
  /** The file cannot be opened or read. */
  | "TORCH_PICKLE_IO"

/**
 * Every error of `@pagkit/torch-pickle`. `code` says which failure; the message names the file, what was expected,
 * what was found and what to do.
 */
export class TorchPickleError extends Error {
  override readonly name = "TorchPickleError"
  readonly code: TorchPickleErrorCode
  constructor(code: TorchPickleErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}
