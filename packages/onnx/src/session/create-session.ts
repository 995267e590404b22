import { stat } from "node:fs/promises"
import * as ort from "onnxruntime-node"
import { ModelLoadError } from "../errors.js"
import { modelFileHint } from "./model-file-hint.js"
import { ModelSession } from "./model-session.js"

/** How to create a session. */
export interface SessionOptions {
  /** Execution providers, in preference order. Default `["cpu"]`. */
  readonly executionProviders?: readonly string[]
  /** Threads used inside one operator. Default: onnxruntime's choice. */
  readonly intraOpThreads?: number
  /** Threads used across operators. Default: onnxruntime's choice. */
  readonly interOpThreads?: number
  /** Folder holding external-data files, when the model is given as bytes (or lives elsewhere). */
  readonly externalDataDir?: string
  /** Graph optimization level. Default `"all"`. */
  readonly graphOptimizationLevel?: "disabled" | "basic" | "extended" | "all"
  /** Keep float16 outputs as half bit patterns instead of converting them to float32. Default false. */
  readonly keepFloat16Outputs?: boolean
  /** onnxruntime log severity (0 verbose … 4 fatal). Default 3 (errors only). */
  readonly logSeverityLevel?: 0 | 1 | 2 | 3 | 4
}

/** The onnxruntime session options that {@link SessionOptions} stand for. */
export function toOrtSessionOptions(options: SessionOptions = {}): ort.InferenceSession.SessionOptions {
  const ortOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: [...(options.executionProviders ?? ["cpu"])],
    graphOptimizationLevel: options.graphOptimizationLevel ?? "all",
    logSeverityLevel: options.logSeverityLevel ?? 3,
  }
  if (options.intraOpThreads !== undefined) ortOptions.intraOpNumThreads = options.intraOpThreads
  if (options.interOpThreads !== undefined) ortOptions.interOpNumThreads = options.interOpThreads
  if (options.externalDataDir !== undefined) {
    ortOptions.extra = { session: { model_external_initializers_file_folder_path: options.externalDataDir } }
  }
  return ortOptions
}

/**
 * Turns an onnxruntime load failure into a {@link ModelLoadError} that says what to do. `hint` says what is wrong
 * with the file itself when that could be seen (a Git LFS pointer, an empty file; see `modelFileHint`).
 */
export function loadError(error: unknown, what: string, options: SessionOptions, hint?: string): ModelLoadError {
  const message = String((error as Error)?.message ?? error)
  const escapes = /escapes model directory|resolved path: "([^"]*)"[^]*allowed directory: "([^"]*)"/i.exec(message)
  if (escapes !== null) {
    const resolved = /resolved path: "([^"]*)"/.exec(message)?.[1]
    const allowed = /allowed directory: "([^"]*)"/.exec(message)?.[1]
    return new ModelLoadError(
      "ONNX_EXTERNAL_DATA_REFUSED",
      `could not load ${what}: onnxruntime found its external data but refused it because it resolves${resolved === undefined ? "" : ` to "${resolved}"`}, outside the model's folder${allowed === undefined ? "" : ` "${allowed}"`} (a symlink to another folder, or a location with ".."). Copy the external data file (e.g. model.onnx_data) into the model's folder instead of linking it. (${message})`,
      { cause: error },
    )
  }
  if (/external|onnx_data|\.bin|\.pb|No such file|GetFileLength|open file/i.test(message)) {
    const dir = options.externalDataDir === undefined ? "the model's folder" : `"${options.externalDataDir}"`
    return new ModelLoadError(
      "ONNX_EXTERNAL_DATA_MISSING",
      `could not load ${what}: its weights are stored as external data that was not found in ${dir} (${message}). Keep the external data file (e.g. model.onnx_data) next to model.onnx, or pass externalDataDir.`,
      { cause: error },
    )
  }
  return new ModelLoadError(
    "ONNX_MODEL_LOAD_FAILED",
    hint === undefined
      ? `could not load ${what} as an ONNX model: ${message}. Check that the file is a complete .onnx file (not truncated, not a Git LFS pointer) exported for onnxruntime's CPU provider.`
      : `could not load ${what} as an ONNX model: ${hint}. (onnxruntime: ${message})`,
    { cause: error },
  )
}

/**
 * Loads an ONNX model from a file path or from bytes.
 *
 * @example
 * const vae = await createSession("tiny-sdxl/vae_decoder/model.onnx", { intraOpThreads: 2 })
 * vae.inputs // [{ name: "latent_sample", dtype: "float32", shape: ["batch", 4, "height", "width"] }]
 */
export async function createSession(source: string | Uint8Array, options: SessionOptions = {}): Promise<ModelSession> {
  const ortOptions = toOrtSessionOptions(options)
  const config = options.keepFloat16Outputs === undefined ? {} : { keepFloat16Outputs: options.keepFloat16Outputs }
  if (typeof source === "string") {
    const info = await stat(source).catch(() => undefined)
    if (info === undefined || !info.isFile()) {
      throw new ModelLoadError(
        "ONNX_MODEL_NOT_FOUND",
        `model file "${source}" ${info === undefined ? "does not exist" : "is not a file"}. Pass the path of a model.onnx inside an exported model folder (e.g. unet/model.onnx).`,
      )
    }
    try {
      return new ModelSession(await ort.InferenceSession.create(source, ortOptions), source, config)
    } catch (error) {
      throw loadError(error, `"${source}"`, options, await modelFileHint(source))
    }
  }
  return sessionFromBytes(source, options, `a ${source.byteLength}-byte model buffer`)
}

/** Loads a model from bytes; `what` names it in errors (e.g. the file it was rewritten from). */
export async function sessionFromBytes(bytes: Uint8Array, options: SessionOptions, what: string): Promise<ModelSession> {
  const config = { label: what, ...(options.keepFloat16Outputs === undefined ? {} : { keepFloat16Outputs: options.keepFloat16Outputs }) }
  try {
    return new ModelSession(await ort.InferenceSession.create(bytes, toOrtSessionOptions(options)), undefined, config)
  } catch (error) {
    throw loadError(error, what, options)
  }
}
