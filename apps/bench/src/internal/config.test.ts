import { afterEach, describe, expect, it } from "vitest"
import { DEFAULT_THREADS, THREADS_ENV, benchThreads, pagkitSessionOptions, rawSessionOptions } from "./config.js"

const saved = process.env[THREADS_ENV]
afterEach(() => {
  if (saved === undefined) delete process.env[THREADS_ENV]
  else process.env[THREADS_ENV] = saved
})

describe("bench threads", () => {
  it("defaults to one thread, takes a count or onnxruntime's default", () => {
    delete process.env[THREADS_ENV]
    expect(benchThreads()).toBe(DEFAULT_THREADS)
    process.env[THREADS_ENV] = "2"
    expect(benchThreads()).toBe(2)
    process.env[THREADS_ENV] = "default"
    expect(benchThreads()).toBeUndefined()
  })

  it("refuses anything else, naming the option", () => {
    process.env[THREADS_ENV] = "0"
    expect(() => benchThreads()).toThrow(/--threads .* whole number ≥ 1 or "default".*found "0"/)
    process.env[THREADS_ENV] = "two"
    expect(() => benchThreads()).toThrow(/found "two"/)
  })

  it("gives raw onnxruntime and pagkit the same thread count", () => {
    process.env[THREADS_ENV] = "3"
    expect(rawSessionOptions()).toEqual({ executionProviders: ["cpu"], graphOptimizationLevel: "all", logSeverityLevel: 3, intraOpNumThreads: 3 })
    expect(pagkitSessionOptions()).toEqual({ intraOpThreads: 3 })
    process.env[THREADS_ENV] = "default"
    expect(rawSessionOptions().intraOpNumThreads).toBeUndefined()
    expect(pagkitSessionOptions()).toEqual({})
  })
})
