import { createRequire } from "node:module"
import path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { MessageChannel, Worker } from "node:worker_threads"
import type { MessagePort } from "node:worker_threads"
import { PipelineError } from "../errors.js"
import { WORKER_FLAG } from "./protocol.js"
import { CONTROL_PORT_KEY } from "./worker-control.js"

/**
 * tsx's ESM API (`tsx/esm/api`), for running the `.ts` worker entry in development. Node 20 does not apply
 * `--import tsx` hooks to a worker's own entry file, so the worker registers tsx itself before importing it.
 */
function tsxApiUrl(): string {
  const require = createRequire(import.meta.url)
  let manifestPath: string
  try {
    manifestPath = require.resolve("tsx/package.json")
  } catch (error) {
    throw new PipelineError(
      "WORKER_FAILED",
      `the pipeline worker runs from TypeScript sources (${import.meta.url}), which needs the "tsx" package, and it was not found. Install tsx (pnpm add -D tsx) or use the built package.`,
      { cause: error },
    )
  }
  const manifest = require(manifestPath) as { exports?: Record<string, { import?: { default?: string } } | string> }
  const entry = manifest.exports?.["./esm/api"]
  const relative = typeof entry === "object" ? entry.import?.default : undefined
  return pathToFileURL(path.join(path.dirname(manifestPath), relative ?? "dist/esm/api/index.mjs")).href
}

/** A started worker thread and the host's end of its control port (send `{ type: "close" }` to end it cleanly). */
export interface SpawnedWorker {
  readonly worker: Worker
  readonly control: MessagePort
}

/**
 * Starts a pipeline worker thread (entry `worker-main`, which listens on the control port and then serves runs).
 * From built `.js` files the entry is loaded directly; from `.ts` sources (the repo's dev setup, vitest) a two-line
 * bootstrap registers tsx in the worker first.
 */
export function spawnPipelineWorker(): SpawnedWorker {
  const ext = path.extname(fileURLToPath(import.meta.url))
  const entry = new URL(`./worker-main${ext}`, import.meta.url)
  const { port1: control, port2: workerEnd } = new MessageChannel()
  const workerData = { [WORKER_FLAG]: true, [CONTROL_PORT_KEY]: workerEnd }
  const transferList = [workerEnd]
  if (ext !== ".ts") return { worker: new Worker(entry, { workerData, transferList }), control }
  const bootstrap = `import(${JSON.stringify(tsxApiUrl())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}) })`
  return { worker: new Worker(bootstrap, { eval: true, workerData, transferList }), control }
}
