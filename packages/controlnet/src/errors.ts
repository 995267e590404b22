import { PagkitError } from "@pagkit/tensor"

/** Codes of every {@link ControlNetError}. */
export type ControlNetErrorCode =
  | "CONTROL_IMAGE_INVALID"
  | "UNET_RESIDUALS_MISSING"
  | "CONTROLNET_OPTIONS_INVALID"
  | "CONTROLNET_MODEL_INVALID"

/** Base class of every error thrown by `@pagkit/controlnet`. */
export class ControlNetError<C extends ControlNetErrorCode = ControlNetErrorCode> extends PagkitError<C> {
  override readonly name: string = "ControlNetError"
}

/** A control image has the wrong rank, channel count, size or batch. */
export class ControlImageError extends ControlNetError {
  override readonly name = "ControlImageError"
  override readonly code = "CONTROL_IMAGE_INVALID" as const
  constructor(message: string, options?: { cause?: unknown }) {
    super("CONTROL_IMAGE_INVALID", message, options)
  }
}

/** A ControlNet was given to a UNet graph that takes no (or not the same) residual inputs. */
export class UnetResidualsError extends ControlNetError {
  override readonly name = "UnetResidualsError"
  override readonly code = "UNET_RESIDUALS_MISSING" as const
  constructor(message: string, options?: { cause?: unknown }) {
    super("UNET_RESIDUALS_MISSING", message, options)
  }
}

/** Conditioning scales or guidance windows that do not fit the ControlNets. */
export class ControlNetOptionsError extends ControlNetError {
  override readonly name = "ControlNetOptionsError"
  override readonly code = "CONTROLNET_OPTIONS_INVALID" as const
  constructor(message: string, options?: { cause?: unknown }) {
    super("CONTROLNET_OPTIONS_INVALID", message, options)
  }
}

/** A ControlNet folder or graph that lacks the expected inputs or outputs. */
export class ControlNetModelError extends ControlNetError {
  override readonly name = "ControlNetModelError"
  override readonly code = "CONTROLNET_MODEL_INVALID" as const
  constructor(message: string, options?: { cause?: unknown }) {
    super("CONTROLNET_MODEL_INVALID", message, options)
  }
}
