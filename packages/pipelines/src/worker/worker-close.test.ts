import { execFile } from "node:child_process"
import { cpSync, mkdtempSync, rmSync } from "node:fs"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { tinyModelPath } from "@pagkit/tiny-models"
import { PipelineWorker } from "./pipeline-worker.js"

const packageDir = fileURLToPath(new URL("../..", import.meta.url))
const script = fileURLToPath(new URL("./internal/close-stress.ts", import.meta.url))
const broken = mkdtempSync(path.join(os.tmpdir(), "pagkit-close-"))

afterAll(() => rmSync(broken, { recursive: true, force: true }))

/** Runs the stress script in its own process: an abort there is an exit code here, not a dead test runner. */
function stress(args: readonly string[]): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", script, ...args], { cwd: packageDir, timeout: 240_000 }, (error, stdout, stderr) => {
      const failure = error as (NodeJS.ErrnoException & { code?: number | string; signal?: string }) | null
      resolve({ code: failure === null ? 0 : typeof failure.code === "number" ? failure.code : null, signal: failure?.signal ?? null, stdout, stderr })
    })
  })
}

describe("PipelineWorker.close() never ends the thread inside a native call (issue 16, item 1)", () => {
  it("survives 50 closes at random moments of loading, and closes right after a failed load", async () => {
    // A folder whose text_encoder/model.onnx is missing: loadSdxl used to report that while onnxruntime was still
    // creating text_encoder_2's session, and closing the worker then aborted the process (SIGABRT, exit 134).
    cpSync(tinyModelPath("tiny-sdxl"), broken, { recursive: true })
    rmSync(path.join(broken, "text_encoder", "model.onnx"))
    const result = await stress([`${tinyModelPath("tiny-sdxl")},${broken}`, "50", "2", "0", "1500"])
    expect(result.stderr).not.toMatch(/terminate called|Napi::Error/)
    expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null })
    const summary = JSON.parse(result.stdout.trim().split("\n").at(-1)!) as { runs: number; outcomes: Record<string, number> }
    expect(Object.values(summary.outcomes).reduce((a, b) => a + b, 0)).toBe(50)
    // Every run ended as expected: closed mid-way (WorkerFailedError), the broken folder's clear error, or a result.
    for (const outcome of Object.keys(summary.outcomes)) {
      expect(outcome).toMatch(/^(closed:WorkerFailedError|settled:MissingModelFileError|closed:MissingModelFileError|settled:result|closed:result)$/)
    }
  }, 300_000)

  it("close() resolves once the thread has ended, is idempotent, and refuses a bad timeout", async () => {
    const worker = new PipelineWorker()
    const run = worker.run({ pipeline: { task: "text2image", modelDir: tinyModelPath("tiny-sdxl") }, call: { prompt: "x", numInferenceSteps: 1, height: 64, width: 64 } })
    const failure = run.catch((error: unknown) => error)
    const closing = worker.close()
    expect(worker.close()).toBe(closing)
    await closing
    expect(await failure).toMatchObject({ name: "WorkerFailedError" })
    expect(() => new PipelineWorker({ closeTimeoutMs: Number.NaN })).toThrow(/closeTimeoutMs/)
  })
})
