import { readdir, readFile, stat } from "node:fs/promises"
import path from "node:path"
import {
  EXPORT_FOLDER_LAYOUT,
  MissingModelFileError,
  ModelConfigError,
  ModelFolderError,
} from "./errors.js"
import { parsePythonJson } from "./python-json.js"

/** One component entry of `model_index.json`: `["diffusers", "UNet2DConditionModel"]`. */
export interface ComponentEntry {
  readonly library: string | null
  readonly className: string | null
}

/** The parsed `model_index.json` of a pipeline folder. */
export interface ModelIndex {
  /** The folder it was read from. */
  readonly dir: string
  /** `_class_name`, e.g. `StableDiffusionXLPipeline`. */
  readonly className: string | undefined
  /** Components by name (`unet`, `vae`, `text_encoder`, …). */
  readonly components: Readonly<Record<string, ComponentEntry>>
  /** `force_zeros_for_empty_prompt`, when the file sets it. */
  readonly forceZerosForEmptyPrompt: boolean | undefined
  /** `requires_aesthetics_score`, when the file sets it. */
  readonly requiresAestheticsScore: boolean | undefined
  /** Every key as written. */
  readonly raw: Readonly<Record<string, unknown>>
}

/** Where a component's ONNX model lives. */
export interface OnnxModelLocation {
  /** Component folder name (`unet`), or the folder itself when a standalone model folder was given. */
  readonly component: string
  /** Absolute path of the `.onnx` file. */
  readonly modelPath: string
  /** External-data files found next to it (`model.onnx_data`, `weights.pb`, …). */
  readonly externalData: readonly string[]
}

/** File names exporters use for external weights. */
export const EXTERNAL_DATA_FILES = ["model.onnx_data", "model.onnx.data", "weights.pb", "model.data"] as const

/** Throws a {@link ModelFolderError} unless `dir` is an existing directory. */
export async function assertFolder(dir: string, what = "model folder"): Promise<void> {
  const info = await stat(dir).catch(() => undefined)
  if (info === undefined || !info.isDirectory()) {
    throw new ModelFolderError(
      dir,
      `${what} "${dir}" ${info === undefined ? "does not exist" : "is not a directory"}. ` +
        `Pass the folder of an exported ONNX pipeline. ${EXPORT_FOLDER_LAYOUT}`,
    )
  }
}

/**
 * Reads and parses a JSON file (Python's bare `NaN` / `Infinity` / `-Infinity` included, see {@link parsePythonJson});
 * `undefined` when it does not exist and `required` is false.
 */
export async function readJsonFile(
  file: string,
  options: { required?: boolean; what?: string } = {},
): Promise<Record<string, unknown> | undefined> {
  let text: string
  try {
    text = await readFile(file, "utf8")
  } catch (error) {
    if (options.required === false) return undefined
    throw new MissingModelFileError(
      file,
      `${options.what ?? "config file"} "${file}" is missing. ${EXPORT_FOLDER_LAYOUT}`,
      { cause: error },
    )
  }
  let parsed: unknown
  try {
    parsed = parsePythonJson(text)
  } catch (error) {
    throw new ModelConfigError(`"${file}" is not valid JSON (${(error as Error).message}). Re-export or fix the file.`, {
      cause: error,
    })
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ModelConfigError(`"${file}" should hold a JSON object, found ${Array.isArray(parsed) ? "an array" : typeof parsed}.`)
  }
  return parsed as Record<string, unknown>
}

function optionalBoolean(raw: Record<string, unknown>, key: string, file: string): boolean | undefined {
  const value = raw[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== "boolean") {
    throw new ModelConfigError(`"${file}": ${key} should be true or false, found ${JSON.stringify(value)}.`)
  }
  return value
}

/**
 * Reads a pipeline folder's `model_index.json`.
 *
 * @example
 * const index = await loadModelIndex("models/tiny-sdxl")
 * index.components.unet // { library: "diffusers", className: "UNet2DConditionModel" }
 * index.forceZerosForEmptyPrompt // true
 */
export async function loadModelIndex(dir: string): Promise<ModelIndex> {
  await assertFolder(dir)
  const file = path.join(dir, "model_index.json")
  const raw = (await readJsonFile(file, { what: "pipeline index" }))!
  const components: Record<string, ComponentEntry> = {}
  for (const [key, value] of Object.entries(raw)) {
    if (key.startsWith("_") || !Array.isArray(value) || value.length !== 2) continue
    const [library, className] = value as unknown[]
    components[key] = {
      library: typeof library === "string" ? library : null,
      className: typeof className === "string" ? className : null,
    }
  }
  return Object.freeze({
    dir,
    className: typeof raw["_class_name"] === "string" ? raw["_class_name"] : undefined,
    components: Object.freeze(components),
    forceZerosForEmptyPrompt: optionalBoolean(raw, "force_zeros_for_empty_prompt", file),
    requiresAestheticsScore: optionalBoolean(raw, "requires_aesthetics_score", file),
    raw: Object.freeze(raw),
  })
}

/**
 * Reads a component's config: `<dir>/<component>/config.json`, or `scheduler_config.json` for the scheduler.
 * Returns `undefined` when the file is absent and `required` is false.
 */
export async function readComponentConfig(
  dir: string,
  component: string,
  options: { required?: boolean } = {},
): Promise<Record<string, unknown> | undefined> {
  const fileName = component === "scheduler" ? "scheduler_config.json" : "config.json"
  return readJsonFile(path.join(dir, component, fileName), {
    required: options.required ?? true,
    what: `${component} config`,
  })
}

/**
 * Finds the ONNX model of a component: `<dir>/<component>/model.onnx` (or the only `.onnx` file there),
 * with its external-data files. `component` may be `""` for a standalone model folder.
 */
export async function locateOnnxModel(dir: string, component: string): Promise<OnnxModelLocation> {
  await assertFolder(dir)
  const folder = component === "" ? dir : path.join(dir, component)
  const label = component === "" ? "model folder" : `${component} folder`
  const info = await stat(folder).catch(() => undefined)
  if (info === undefined || !info.isDirectory()) {
    throw new MissingModelFileError(
      folder,
      `"${dir}" has no ${component}/ folder: expected ${component}/model.onnx. ${EXPORT_FOLDER_LAYOUT}`,
    )
  }
  const entries = await readdir(folder)
  let modelFile = entries.includes("model.onnx") ? "model.onnx" : undefined
  if (modelFile === undefined) {
    const onnxFiles = entries.filter((f) => f.endsWith(".onnx"))
    if (onnxFiles.length === 1) modelFile = onnxFiles[0]
    else {
      throw new MissingModelFileError(
        path.join(folder, "model.onnx"),
        `${label} "${folder}" has no model.onnx (found: ${entries.join(", ") || "nothing"}). ` +
          (onnxFiles.length > 1 ? `Several .onnx files are there; rename the one to use to model.onnx. ` : "") +
          EXPORT_FOLDER_LAYOUT,
      )
    }
  }
  const externalData = entries.filter(
    (f) => (EXTERNAL_DATA_FILES as readonly string[]).includes(f) || f === `${modelFile}_data` || f === `${modelFile}.data`,
  )
  return Object.freeze({
    component: component === "" ? path.basename(dir) : component,
    modelPath: path.join(folder, modelFile!),
    externalData: Object.freeze([...new Set(externalData)].map((f) => path.join(folder, f))),
  })
}
