import { existsSync } from "node:fs"
import path from "node:path"
import { tinyModelPath } from "@pagkit/tiny-models"
import { modelFolder } from "@pagkit/pipelines"
import { CliError, EXIT } from "./errors.js"

/** Resolves a user path against the directory the command was typed in (pnpm scripts run from the root). */
export function userPath(file: string): string {
  return path.resolve(process.env["INIT_CWD"] || process.cwd(), file)
}

/** Looks like a Hugging Face hub id (`org/name`, optionally `@revision`) rather than a path. */
export function looksLikeHubId(value: string): boolean {
  return /^[A-Za-z0-9][\w.-]*\/[\w.-]+(@[\w./-]+)?$/.test(value) && !value.startsWith(".") && !value.includes("..")
}

/**
 * The one place `--model` becomes a local folder: undefined → the embedded tiny model; an existing path → itself;
 * `org/name[@revision]` that is no path → downloaded into the Hugging Face cache (`@pagkit/hub` through the pipelines).
 * @example
 * await resolveModel("models/sdxl-onnx") // "/abs/path/models/sdxl-onnx"
 */
export async function resolveModel(value: string | undefined, flag = "--model", onMessage?: (message: string) => void): Promise<string> {
  if (value === undefined) return tinyModelPath("tiny-sdxl-shapes")
  const local = userPath(value)
  if (existsSync(local)) return local
  if (looksLikeHubId(value)) {
    const [id, revision] = value.split("@") as [string, string | undefined]
    let lastFile = ""
    try {
      return await modelFolder(id, {
        ...(revision === undefined ? {} : { revision }),
        onDownloadProgress: (event) => {
          if (event.source !== "cache" && event.file !== lastFile && event.fileLoaded === event.fileSize) {
            lastFile = event.file
            onMessage?.(`${flag} ${id}: ${event.file} (${(event.fileSize / 1048576).toFixed(1)} MiB) — ${(event.loaded / 1048576).toFixed(1)} of ${(event.total / 1048576).toFixed(1)} MiB`)
          }
        },
      })
    } catch (error) {
      const code = (error as { code?: unknown }).code
      throw new CliError(`${flag} ${value}: ${(error as Error).message}`, { code: typeof code === "string" ? code : "HUB_FAILED", exitCode: EXIT.runtime, cause: error })
    }
  }
  throw new CliError(
    `model folder not found: ${local}. Pass ${flag} <dir> with a diffusers ONNX export (model_index.json, unet/ or transformer/, vae_decoder/, …).`,
    { code: "MODEL_NOT_FOUND" },
  )
}
