import { copyFile, mkdtemp, readdir, rm, writeFile } from "node:fs/promises"
import os from "node:os"
import path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { HookError, ModelLoadError, OnnxProtoError } from "../errors.js"
import { model } from "../internal/fixtures.js"
import { identityAttention } from "./identity-attention.js"
import { loadHookedModel } from "./load-hooked-model.js"

const tempDirs: string[] = []
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
  tempDirs.push(dir)
  return dir
}
afterAll(() => Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true }))))

describe("loadHookedModel", () => {
  it("loads external-data models and caches the rewrite", async () => {
    const cacheDir = await tempDir("pagkit-hook-cache-")
    const first = await loadHookedModel(model("variants/unet-controlnet"), { hooks: [identityAttention()], cacheDir })
    expect(first.layers("identity-attention")).toHaveLength(17)
    expect(first.session.input("pag_gates")).toEqual({ name: "pag_gates", dtype: "float32", shape: ["batch", 17] })
    expect((await readdir(cacheDir)).filter((f) => f.endsWith(".onnx") || f.endsWith(".json"))).toHaveLength(2)
    const second = await loadHookedModel(model("variants/unet-controlnet"), { hooks: [identityAttention()], cacheDir })
    expect(second.index.selfAttention.map((a) => a.path)).toEqual(first.index.selfAttention.map((a) => a.path))
    expect(second.hooks).toEqual(first.hooks)
    expect(() => second.gates("identity-attention", [["not.a.layer"]])).toThrow(HookError)
    expect(() => second.layers("block-skip")).toThrow(/not installed/)
    const gates = second.gates("identity-attention", [[], ["mid_block.attentions.0.transformer_blocks.1.attn1"]])
    expect(gates.shape).toEqual([2, 17])
    expect(Array.from(gates.data).reduce((a, b) => a + b, 0)).toBe(1)
    await first.release()
    await second.release()
  })

  it("loads a cached self-contained graph from its file", async () => {
    const cacheDir = await tempDir("pagkit-hook-cache-")
    const first = await loadHookedModel(model("tiny-pixart-sigma/transformer"), { hooks: [identityAttention()], cacheDir })
    const second = await loadHookedModel(model("tiny-pixart-sigma/transformer"), { hooks: [identityAttention()], cacheDir })
    expect(first.session.path).toBeUndefined()
    expect(second.session.path?.startsWith(cacheDir)).toBe(true)
    expect(second.layers("identity-attention")).toEqual(first.layers("identity-attention"))
    const renamed = await loadHookedModel(model("tiny-pixart-sigma/transformer"), {
      hooks: [identityAttention({ inputName: "gates" })],
      cacheDir,
    })
    expect(renamed.session.hasInput("gates")).toBe(true)
    await Promise.all([first.release(), second.release(), renamed.release()])
  })

  it("gives clear errors for missing files, non-ONNX bytes and missing external data", async () => {
    const dir = await tempDir("pagkit-hook-errors-")
    const hooks = [identityAttention()]
    await expect(loadHookedModel(path.join(dir, "none.onnx"), { hooks })).rejects.toMatchObject({ code: "ONNX_MODEL_NOT_FOUND" })
    await writeFile(path.join(dir, "text.onnx"), "<html>not a model</html>")
    await expect(loadHookedModel(path.join(dir, "text.onnx"), { hooks })).rejects.toBeInstanceOf(OnnxProtoError)
    await copyFile(model("variants/unet-controlnet"), path.join(dir, "model.onnx"))
    const error = await loadHookedModel(path.join(dir, "model.onnx"), { hooks }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ModelLoadError)
    expect(error).toMatchObject({ code: "ONNX_EXTERNAL_DATA_MISSING" })
    expect((error as Error).message).toContain(path.join(dir, "model.onnx"))
    await expect(loadHookedModel(model("tiny-sdxl/text_encoder"), { hooks })).rejects.toThrow(/self-attention modules/)
  })
})
