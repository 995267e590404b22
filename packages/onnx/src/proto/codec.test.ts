import { readFile } from "node:fs/promises"
import { readdirSync } from "node:fs"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { OnnxProtoError } from "../errors.js"
import { modelsDir } from "../internal/fixtures.js"
import { decodeModel } from "./decode.js"
import { encodeModel } from "./encode.js"

const files = readdirSync(modelsDir, { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".onnx"))
  .sort()

describe("ONNX codec", () => {
  it("finds the fixture models", () => {
    expect(files.length).toBeGreaterThanOrEqual(15)
  })
  for (const file of files) {
    it(`round-trips ${file} byte for byte`, async () => {
      const bytes = new Uint8Array(await readFile(path.join(modelsDir, file)))
      const model = decodeModel(bytes)
      expect(model.graph.nodes.length).toBeGreaterThan(0)
      const encoded = encodeModel(model)
      expect(encoded.length).toBe(bytes.length)
      expect(Buffer.compare(Buffer.from(encoded), Buffer.from(bytes))).toBe(0)
    })
  }
  it("rejects text and truncated files", async () => {
    expect(() => decodeModel(new TextEncoder().encode("version https://git-lfs.github.com/spec/v1\n"))).toThrow(OnnxProtoError)
    const bytes = new Uint8Array(await readFile(path.join(modelsDir, "tiny-sdxl/vae_decoder/model.onnx")))
    expect(() => decodeModel(bytes.subarray(0, bytes.length - 1000))).toThrow(/truncated/)
  })
})
