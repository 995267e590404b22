import { PagkitError } from "@pagkit/tensor"

/** Codes of every {@link ModelsError}. */
export type ModelsErrorCode =
  | "MODEL_FOLDER_MISSING"
  | "MODEL_FILE_MISSING"
  | "MODEL_CONFIG_INVALID"
  | "COMPONENT_KIND_MISMATCH"
  | "IMAGE_SIZE_INVALID"
  | "MODEL_INPUT_INVALID"

/** Base class of every error thrown by `@pagkit/models-core` (and reused by the model adapters). */
export class ModelsError<C extends ModelsErrorCode = ModelsErrorCode> extends PagkitError<C> {
  override readonly name: string = "ModelsError"
}

/** What an exported diffusers / Optimum ONNX pipeline folder contains, for error messages. */
export const EXPORT_FOLDER_LAYOUT =
  "An ONNX pipeline folder (as written by Optimum or diffusers' conversion scripts) holds model_index.json, " +
  "scheduler/scheduler_config.json, tokenizer*/, text_encoder*/model.onnx, unet/model.onnx (or transformer/), " +
  "vae_encoder/model.onnx and vae_decoder/model.onnx, each with its config.json; large models keep weights " +
  "next to model.onnx as external data (model.onnx_data or weights.pb)."

/** A model folder (or component folder) does not exist or is not a directory. */
export class ModelFolderError extends ModelsError {
  override readonly name = "ModelFolderError"
  override readonly code = "MODEL_FOLDER_MISSING" as const
  /** The folder that was expected. */
  readonly path: string
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super("MODEL_FOLDER_MISSING", message, options)
    this.path = path
  }
}

/** A file a model folder must contain is missing (model.onnx, model_index.json, config.json, …). */
export class MissingModelFileError extends ModelsError {
  override readonly name = "MissingModelFileError"
  override readonly code = "MODEL_FILE_MISSING" as const
  /** The file that was expected. */
  readonly path: string
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super("MODEL_FILE_MISSING", message, options)
    this.path = path
  }
}

/** A JSON config could not be parsed or has a value of the wrong type. */
export class ModelConfigError extends ModelsError {
  override readonly name = "ModelConfigError"
  override readonly code = "MODEL_CONFIG_INVALID" as const
  constructor(message: string, options?: { cause?: unknown }) {
    super("MODEL_CONFIG_INVALID", message, options)
  }
}

/** A component folder holds a model of another kind (e.g. a text encoder where a UNet is expected). */
export class ComponentKindError extends ModelsError {
  override readonly name = "ComponentKindError"
  override readonly code = "COMPONENT_KIND_MISMATCH" as const
  /** The kind that was expected. */
  readonly expected: string
  /** The kind detected from the model's inputs and outputs. */
  readonly found: string
  constructor(expected: string, found: string, message: string, options?: { cause?: unknown }) {
    super("COMPONENT_KIND_MISMATCH", message, options)
    this.expected = expected
    this.found = found
  }
}

/** A requested image height or width does not fit the model. The message names the nearest valid sizes. */
export class ImageSizeError extends ModelsError {
  override readonly name = "ImageSizeError"
  override readonly code = "IMAGE_SIZE_INVALID" as const
  constructor(message: string, options?: { cause?: unknown }) {
    super("IMAGE_SIZE_INVALID", message, options)
  }
}

/** An argument passed to a model (tensor shape, batch size, option value) does not fit. */
export class ModelInputError extends ModelsError {
  override readonly name = "ModelInputError"
  override readonly code = "MODEL_INPUT_INVALID" as const
  constructor(message: string, options?: { cause?: unknown }) {
    super("MODEL_INPUT_INVALID", message, options)
  }
}
