import { existsSync } from "node:fs"
import path from "node:path"
import { parseArgs } from "node:util"
import { tinyModelPath } from "@pagkit/tiny-models"
import { StudioError } from "./errors.js"

/** Resolves a user path against the directory the command was typed in (pnpm scripts run from the root). */
export function userPath(file: string): string {
  return path.resolve(process.env["INIT_CWD"] ?? process.cwd(), file)
}

/** A model folder from `--model` (default: the bundled tiny-sdxl-shapes). Hub ids (`org/name`) need a local copy. */
export function resolveModel(model: string | undefined): string {
  if (model === undefined) return tinyModelPath("tiny-sdxl-shapes")
  const dir = userPath(model)
  if (existsSync(path.join(dir, "model_index.json"))) return dir
  if (/^[\w.-]+\/[\w.-]+$/.test(model)) {
    throw new StudioError("MODEL_FOLDER", `--model: "${model}" looks like a Hugging Face id, and pagkit reads local ONNX folders only. Download an ONNX export first (huggingface-cli download ${model} --local-dir models/${model.split("/")[1]}) and pass that folder.`)
  }
  throw new StudioError("MODEL_FOLDER", `--model: expected a diffusers ONNX folder with model_index.json, found none at ${dir}.`)
}

function int(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n < min) throw new StudioError("BAD_ARGUMENT", `--${name}: expected an integer ≥ ${min}, found "${value}".`)
  return n
}

/** `pnpm studio` options. */
export interface StudioArgs {
  readonly port: number
  readonly host: string
  readonly modelDir: string
  readonly redis: string | undefined
}

/** Parses `pnpm studio [--port 7860] [--host 127.0.0.1] [--model DIR] [--redis URL]`. */
export function parseStudioArgs(argv: readonly string[]): StudioArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: { port: { type: "string" }, host: { type: "string" }, model: { type: "string" }, redis: { type: "string" } },
    strict: true,
  })
  return {
    port: int("port", values.port, 7860, 0),
    host: values.host ?? "127.0.0.1",
    modelDir: resolveModel(values.model),
    redis: values.redis ?? process.env["STUDIO_REDIS_URL"],
  }
}

/** `pnpm studio-worker` options. */
export interface WorkerArgs {
  readonly redis: string
  readonly modelDir: string
  readonly concurrency: number
  /** BullMQ lock duration: a worker that stops renewing its lock this long is stalled and its job handed on. */
  readonly lockMs: number
}

/** Parses `pnpm studio-worker --redis URL [--model DIR] [--concurrency 1] [--lock-ms 30000]`. */
export function parseWorkerArgs(argv: readonly string[]): WorkerArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: { redis: { type: "string" }, model: { type: "string" }, concurrency: { type: "string" }, "lock-ms": { type: "string" } },
    strict: true,
  })
  const redis = values.redis ?? process.env["STUDIO_REDIS_URL"]
  if (redis === undefined) throw new StudioError("BAD_ARGUMENT", "--redis: expected the Redis URL of the studio's queue (e.g. redis://127.0.0.1:6379), found none. Pass --redis or set STUDIO_REDIS_URL.")
  return {
    redis,
    modelDir: resolveModel(values.model),
    concurrency: int("concurrency", values.concurrency, 1, 1),
    lockMs: int("lock-ms", values["lock-ms"], 30_000, 1000),
  }
}
