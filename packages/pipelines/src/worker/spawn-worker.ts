import { createRequire } from "node:module"
import path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"
import { PipelineError } from "../errors.js"
import { WORKER_FLAG } from "./protocol.js"

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

/**
 * Starts a pipeline worker thread. From built `.js` files the entry is loaded directly; from `.ts` sources (the
 * repo's dev setup, vitest) a two-line bootstrap registers tsx in the worker first.
 */
export function spawnPipelineWorker(): Worker {
  const ext = path.extname(fileURLToPath(import.meta.url))
  const entry = new URL(`./worker-entry${ext}`, import.meta.url)
  const workerData = { [WORKER_FLAG]: true }
  if (ext !== ".ts") return new Worker(entry, { workerData })
  const bootstrap = `import(${JSON.stringify(tsxApiUrl())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}) })`
  return new Worker(bootstrap, { eval: true, workerData })
}
