// Session settings shared by the raw baseline and pagkit, so both run onnxruntime the same way.
import type * as ort from "onnxruntime-node"
import type { SessionOptions } from "@pagkit/onnx"
import { BenchError } from "../errors.js"

/** Environment variable carrying `--threads` to child processes. */
export const THREADS_ENV = "PAGKIT_BENCH_THREADS"

/**
 * Threads when `--threads` is not given: 1. onnxruntime's default pool (one spinning thread per core) makes timings
 * swing by ±50 % or more as soon as anything else runs on a small machine; one thread keeps ratios stable.
 */
export const DEFAULT_THREADS = 1

/**
 * Intra-op threads from `--threads` (via {@link THREADS_ENV}): a whole number, or `"default"` for onnxruntime's own
 * choice (`undefined`). Unset: {@link DEFAULT_THREADS}.
 */
export function benchThreads(): number | undefined {
  const value = process.env[THREADS_ENV]
  if (value === undefined || value === "") return DEFAULT_THREADS
  if (value === "default") return undefined
  const threads = Number(value)
  if (!Number.isInteger(threads) || threads < 1) {
    throw new BenchError(
      "BENCH_OPTION_INVALID",
      `--threads (${THREADS_ENV}) must be a whole number ≥ 1 or "default" (onnxruntime's choice), found "${value}".`,
    )
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
