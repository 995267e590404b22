// Session settings shared by the raw baseline and pagkit, so both run onnxruntime the same way.
import type * as ort from "onnxruntime-node"
import type { SessionOptions } from "@pagkit/onnx"

/** Environment variable carrying `--threads` to child processes. */
export const THREADS_ENV = "PAGKIT_BENCH_THREADS"

/** Intra-op threads from `--threads` (via {@link THREADS_ENV}); `undefined` = onnxruntime's default. */
export function benchThreads(): number | undefined {
  const value = process.env[THREADS_ENV]
  if (value === undefined || value === "") return undefined
  const threads = Number(value)
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(`${THREADS_ENV} must be a whole number ≥ 1, found "${value}".`)
  }
  return threads
}

/** pagkit's session options for the bench (CPU provider, full optimization: pagkit's defaults). */
export function pagkitSessionOptions(): SessionOptions {
  const threads = benchThreads()
  return threads === undefined ? {} : { intraOpThreads: threads }
}

/** The onnxruntime options pagkit's `createSession` passes for {@link pagkitSessionOptions}. */
export function rawSessionOptions(): ort.InferenceSession.SessionOptions {
  const threads = benchThreads()
  return {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
    logSeverityLevel: 3,
    ...(threads === undefined ? {} : { intraOpNumThreads: threads }),
  }
}
