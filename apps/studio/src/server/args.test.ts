import { describe, expect, it } from "vitest"
import { tinyModelPath } from "@pagkit/tiny-models"
import { parseStudioArgs, parseWorkerArgs } from "./args.js"
import { decodeFailure, encodeFailure } from "./queue-protocol.js"

describe("pnpm studio / studio-worker arguments", () => {
  it("defaults to loopback, port 7860 and the bundled tiny model", () => {
    expect(parseStudioArgs([])).toMatchObject({ host: "127.0.0.1", port: 7860, modelDir: tinyModelPath("tiny-sdxl-shapes") })
    expect(parseStudioArgs(["--port", "0", "--redis", "redis://127.0.0.1:1"])).toMatchObject({ port: 0, redis: "redis://127.0.0.1:1" })
  })

  it("says what to do with a bad port, a missing folder or a Hub id", () => {
    expect(() => parseStudioArgs(["--port", "http"])).toThrow(/--port: expected an integer ≥ 0, found "http"/)
    expect(() => parseStudioArgs(["--model", "/nowhere/model"])).toThrow(/--model: expected a diffusers ONNX folder with model_index.json, found none at \/nowhere\/model/)
    expect(() => parseStudioArgs(["--model", "stabilityai/sdxl-turbo"])).toThrow(/looks like a Hugging Face id.*huggingface-cli download stabilityai\/sdxl-turbo/)
  })

  it("a worker needs a Redis URL and takes concurrency and lock duration", () => {
    const saved = process.env["STUDIO_REDIS_URL"]
    delete process.env["STUDIO_REDIS_URL"]
    try {
      expect(() => parseWorkerArgs([])).toThrow(/--redis: expected the Redis URL/)
    } finally {
      if (saved !== undefined) process.env["STUDIO_REDIS_URL"] = saved
    }
    expect(parseWorkerArgs(["--redis", "redis://h:6379", "--concurrency", "2", "--lock-ms", "5000"])).toMatchObject({ redis: "redis://h:6379", concurrency: 2, lockMs: 5000 })
    expect(() => parseWorkerArgs(["--redis", "redis://h", "--concurrency", "0"])).toThrow(/--concurrency: expected an integer ≥ 1, found "0"/)
  })
})

describe("failures stored in BullMQ's failedReason", () => {
  it("round-trip code and message; uncoded reasons become INTERNAL", () => {
    expect(decodeFailure(encodeFailure("ONNX_LAYER_PATTERN", "layer \"x\": none.\nUse mid."))).toEqual({ code: "ONNX_LAYER_PATTERN", message: "layer \"x\": none.\nUse mid." })
    expect(decodeFailure("job stalled more than allowable limit")).toMatchObject({ code: "WORKER_LOST", message: expect.stringMatching(/stopped .* more than twice/) })
    expect(decodeFailure("Missing lock for job 1")).toEqual({ code: "INTERNAL", message: "Missing lock for job 1" })
  })
})
