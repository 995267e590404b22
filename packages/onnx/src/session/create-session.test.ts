import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import os from "node:os"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Tensor } from "@pagkit/tensor"
import { InputError, ModelLoadError, RunError } from "../errors.js"
import { model } from "../internal/fixtures.js"
import { createSession } from "./create-session.js"
import type { ModelSession } from "./model-session.js"

function unetFeeds(timestep: Tensor): Record<string, Tensor> {
  const sample = Tensor.fromArray(Array.from({ length: 2 * 4 * 8 * 8 }, (_, i) => Math.sin(i)), [2, 4, 8, 8])
  const text = Tensor.fromArray(Array.from({ length: 2 * 5 * 64 }, (_, i) => Math.cos(i) * 0.5), [2, 5, 64])
  return {
    sample,
    timestep,
    encoder_hidden_states: text,
    text_embeds: Tensor.fromArray(Array.from({ length: 64 }, (_, i) => i / 64), [2, 32]),
    time_ids: Tensor.fromArray([16, 16, 0, 0, 16, 16, 16, 16, 0, 0, 16, 16], [2, 6]),
  }
}

const tempDirs: string[] = []
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
  tempDirs.push(dir)
  return dir
}
afterAll(() => Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true }))))

describe("createSession", () => {
  let unet: ModelSession
  beforeAll(async () => {
    unet = await createSession(model("tiny-sdxl/unet"))
  })

  it("reads metadata and converts feeds to the declared dtypes and ranks", async () => {
    expect(unet.hasInput("timestep")).toBe(true)
    expect(unet.input("timestep")).toEqual({ name: "timestep", dtype: "int64", shape: ["steps"] })
    const reference = await unet.run(unetFeeds(new Tensor("int64", new BigInt64Array([500n]), [1])))
    const fromFloatScalar = await unet.run(unetFeeds(Tensor.fromArray([500], [])))
    const fromInt32 = await unet.run(unetFeeds(new Tensor("int32", new Int32Array([500]), [1])))
    const out = reference["out_sample"]!
    expect(out.shape).toEqual([2, 4, 8, 8])
    expect(out.dtype).toBe("float32")
    expect(Array.from(fromFloatScalar["out_sample"]!.data as Float32Array)).toEqual(Array.from(out.data as Float32Array))
    expect(Array.from(fromInt32["out_sample"]!.data as Float32Array)).toEqual(Array.from(out.data as Float32Array))
  })

  it("names the input on unknown, missing and badly shaped feeds", async () => {
    const feeds = unetFeeds(Tensor.fromArray([1]))
    await expect(unet.run({ ...feeds, bogus: Tensor.fromArray([1]) })).rejects.toThrow(/no input "bogus".*sample/)
    const { time_ids: _omit, ...missing } = feeds
    await expect(unet.run(missing)).rejects.toMatchObject({ code: "ONNX_INPUT_MISSING", input: "time_ids" })
    const error = await unet.run({ ...feeds, sample: Tensor.zeros([2, 4, 8]) }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InputError)
    expect((error as InputError).message).toMatch(/"sample": expected float32\[batch, 4, height, width\], found float32\[2, 4, 8\]/)
    const channels = await unet.run({ ...feeds, sample: Tensor.zeros([2, 3, 8, 8]) }).catch((e: unknown) => e)
    expect((channels as Error).message).toMatch(/axis 1 is 3 instead of 4/)
    await expect(unet.run(feeds, ["nope"])).rejects.toBeInstanceOf(RunError)
    await unet.release()
    await expect(unet.run(feeds)).rejects.toMatchObject({ code: "ONNX_SESSION_RELEASED" })
  })

  it("gives clear load errors", async () => {
    const dir = await tempDir("pagkit-onnx-")
    await expect(createSession(path.join(dir, "missing.onnx"))).rejects.toMatchObject({ code: "ONNX_MODEL_NOT_FOUND" })
    await writeFile(path.join(dir, "text.onnx"), "version https://git-lfs.github.com/spec/v1\n")
    const notOnnx = await createSession(path.join(dir, "text.onnx")).catch((e: unknown) => e)
    expect(notOnnx).toBeInstanceOf(ModelLoadError)
    expect((notOnnx as ModelLoadError).message).toMatch(/text\.onnx[\s\S]*Git LFS pointer[\s\S]*git lfs pull/)
    const bytes = await readFile(model("tiny-sdxl/vae_decoder"))
    await writeFile(path.join(dir, "trunc.onnx"), bytes.subarray(0, bytes.length >> 1))
    await expect(createSession(path.join(dir, "trunc.onnx"))).rejects.toMatchObject({ code: "ONNX_MODEL_LOAD_FAILED" })
    await copyFile(model("variants/unet-controlnet"), path.join(dir, "model.onnx"))
    const noData = await createSession(path.join(dir, "model.onnx")).catch((e: unknown) => e)
    expect(noData).toMatchObject({ code: "ONNX_EXTERNAL_DATA_MISSING" })
    expect((noData as Error).message).toMatch(/model\.onnx_data/)
  })

  it("loads bytes with an external-data folder", async () => {
    const file = model("variants/unet-controlnet")
    const session = await createSession(new Uint8Array(await readFile(file)), { externalDataDir: path.dirname(file) })
    expect(session.path).toBeUndefined()
    expect(session.hasInput("mid_block_additional_residual")).toBe(true)
    await session.release()
  })
})
