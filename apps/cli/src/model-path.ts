import { existsSync } from "node:fs"
import path from "node:path"
import { tinyModelPath } from "@pagkit/tiny-models"
import { CliError } from "./errors.js"

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
 * `org/name` that is no path → an error until `@pagkit/hub` is plugged in here (`resolveModel(idOrDir, opts)`).
 * @example
 * await resolveModel("models/sdxl-onnx") // "/abs/path/models/sdxl-onnx"
 */
export async function resolveModel(value: string | undefined, flag = "--model"): Promise<string> {
  if (value === undefined) return tinyModelPath("tiny-sdxl-shapes")
  const local = userPath(value)
  if (existsSync(local)) return local
  if (looksLikeHubId(value)) {
    throw new CliError(
      `${flag} ${value}: no such folder, and hub ids need @pagkit/hub, which this CLI does not include yet. ` +
        `Download the ONNX export (e.g. huggingface-cli download ${value.split("@")[0]} --local-dir models/${value.split("/")[1]?.split("@")[0]}) and pass the folder.`,
      { code: "HUB_NOT_AVAILABLE" },
    )
  }
  throw new CliError(
    `model folder not found: ${local}. Pass ${flag} <dir> with a diffusers ONNX export (model_index.json, unet/ or transformer/, vae_decoder/, …).`,
    { code: "MODEL_NOT_FOUND" },
  )
}
