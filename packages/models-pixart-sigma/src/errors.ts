import { PagkitError } from "@pagkit/tensor"

/** Codes of every {@link PixArtError}. */
export type PixArtErrorCode = "PIXART_MODEL_INVALID" | "PIXART_SIZE_UNSUPPORTED" | "PIXART_INPUT_INVALID"

/** Base class of every error thrown by `@pagkit/models-pixart-sigma`. */
export class PixArtError<C extends PixArtErrorCode = PixArtErrorCode> extends PagkitError<C> {
  override readonly name: string = "PixArtError"
}

/**
 * A component of the model folder is not what PixArt-Sigma needs (e.g. a T5 text encoder exported
 * without its `attention_mask` input, or a transformer without `encoder_attention_mask`).
 */
export class PixArtModelError extends PixArtError {
  override readonly name = "PixArtModelError"
  override readonly code = "PIXART_MODEL_INVALID" as const
  constructor(message: string, options?: { cause?: unknown }) {
    super("PIXART_MODEL_INVALID", message, options)
  }
}

/** The requested image size cannot be produced by this transformer (fixed latent size, no aspect-ratio table). */
export class PixArtSizeError extends PixArtError {
  override readonly name = "PixArtSizeError"
  override readonly code = "PIXART_SIZE_UNSUPPORTED" as const
  /** Sizes `[height, width]` in pixels the transformer can take, when it can take only some. */
  readonly supported: readonly (readonly [number, number])[]
  constructor(message: string, supported: readonly (readonly [number, number])[] = [], options?: { cause?: unknown }) {
    super("PIXART_SIZE_UNSUPPORTED", message, options)
    this.supported = supported
  }
}

/** An argument (prompt, embeddings, batch size) does not fit. */
export class PixArtInputError extends PixArtError {
  override readonly name = "PixArtInputError"
  override readonly code = "PIXART_INPUT_INVALID" as const
  constructor(message: string, options?: { cause?: unknown }) {
    super("PIXART_INPUT_INVALID", message, options)
  }
}
