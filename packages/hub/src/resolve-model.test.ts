import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import ort from "onnxruntime-node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { folderFiles, startMockHub, type MockHub } from "../test/mock-hub.js"
import { HubError, resolveModel, type HubProgressEvent } from "./index.js"

const models = resolve(dirname(fileURLToPath(import.meta.url)), "../../tiny-models/models")
const SDXL = "pagkit/tiny-sdxl"
const CN = "pagkit/unet-controlnet" // model.onnx + model.onnx_data, plus pickles that must not be fetched
const cnFiles = {
  ...folderFiles(join(models, "variants/unet-controlnet"), "unet/"),
  "unet/config.json": join(models, "tiny-sdxl/unet/config.json"),
  "ip_adapter/ip-adapter-plus_tiny-sdxl.bin": join(models, "tiny-ip-adapter/ip-adapter-plus_tiny-sdxl.bin"),
  "ip_adapter/ip-adapter_tiny-sdxl.safetensors": join(models, "tiny-ip-adapter/ip-adapter_tiny-sdxl.safetensors"),
  "README.md": join(models, "tiny-sdxl-shapes/samples/prompts.txt"),
}

let hub: MockHub
let home: string
const env = (): Record<string, string> => ({ HF_HOME: home, HF_ENDPOINT: hub.url })
const resolves = (): number => hub.requests.filter((r) => r.url.includes("/resolve/")).length

beforeAll(async () => {
  hub = await startMockHub({ [SDXL]: folderFiles(join(models, "tiny-sdxl")), [CN]: cnFiles })
})
afterAll(async () => {
  await hub.close()
})
afterEach(() => {
  hub.requests.length = 0
  hub.reset()
  if (home) rmSync(home, { recursive: true, force: true })
})
function freshHome(): void {
  home = mkdtempSync(join(tmpdir(), "pagkit-hub-"))
}

describe("resolveModel from a hub id", () => {
  it("downloads a cold pipeline into the Hugging Face cache layout, with hard links and verified blobs", async () => {
    freshHome()
    const events: HubProgressEvent[] = []
    const dir = await resolveModel(SDXL, { env: env(), onProgress: (e) => events.push(e) })
    const repo = hub.repos.get(SDXL)!
    const storage = join(home, "hub", "models--pagkit--tiny-sdxl")
    expect(dir).toBe(join(storage, "snapshots", repo.commit))
    expect(readFileSync(join(storage, "refs", "main"), "utf8")).toBe(repo.commit)
    for (const [path, file] of repo.files) {
      const pointer = join(dir, path)
      expect(lstatSync(pointer).isSymbolicLink()).toBe(false)
      expect(readFileSync(pointer).equals(file.bytes)).toBe(true)
      // blobs are named like huggingface_hub names them: LFS sha256, else the git blob id
      const blob = join(storage, "blobs", file.lfs ? file.sha256 : file.gitOid)
      expect(statSync(blob).ino).toBe(statSync(pointer).ino)
    }
    const total = [...repo.files.values()].reduce((s, f) => s + f.bytes.length, 0)
    const done = events.filter((e) => e.type === "file-done")
    expect(done).toHaveLength(repo.files.size)
    expect(done.at(-1)).toMatchObject({ loaded: total, total })
    expect(events.some((e) => e.type === "file-progress" && e.source === "download")).toBe(true)
    expect(readdirSync(join(storage, "blobs")).some((n) => n.endsWith(".incomplete"))).toBe(false)
  })

  it("a warm cache downloads nothing: one metadata round for a branch, no request at all for a commit", async () => {
    freshHome()
    const first = await resolveModel(CN, { env: env() })
    const commit = hub.repos.get(CN)!.commit
    hub.requests.length = 0
    const events: HubProgressEvent[] = []
    expect(await resolveModel(CN, { env: env(), onProgress: (e) => events.push(e) })).toBe(first)
    expect(resolves()).toBe(0)
    expect(events.every((e) => e.source === "cache")).toBe(true)
    hub.requests.length = 0
    expect(await resolveModel(CN, { env: env(), revision: commit })).toBe(first)
    expect(hub.requests).toEqual([])
  })

  it("never fetches pickles or torch weights unless the patterns ask for them", async () => {
    freshHome()
    const dir = await resolveModel(CN, { env: env() })
    expect(readdirSync(dir).sort()).toEqual(["unet"])
    expect(readdirSync(join(dir, "unet")).sort()).toEqual(["config.json", "model.onnx", "model.onnx_data"])
    const withBin = await resolveModel(CN, { env: env(), allowPatterns: ["ip_adapter/*.bin"], ignorePatterns: [] })
    expect(readdirSync(join(withBin, "ip_adapter"))).toEqual(["ip-adapter-plus_tiny-sdxl.bin"])
  })

  it("offline mode reads the cache only, and says what is missing", async () => {
    freshHome()
    await expect(resolveModel(CN, { env: { ...env(), HF_HUB_OFFLINE: "1" } })).rejects.toMatchObject({ code: "HUB_OFFLINE_NOT_CACHED" })
    expect(hub.requests).toEqual([])
    const online = await resolveModel(CN, { env: env(), subfolder: "unet" })
    hub.requests.length = 0
    expect(await resolveModel(CN, { env: { ...env(), HF_HUB_OFFLINE: "1" }, subfolder: "unet" })).toBe(online)
    expect(await resolveModel(CN, { env: env(), offline: true, subfolder: "unet" })).toBe(online)
    expect(hub.requests).toEqual([])
  })

  it("a missing repository or revision is a clear error", async () => {
    freshHome()
    const error = await resolveModel("pagkit/no-such-model", { env: env() }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(HubError)
    expect(error).toMatchObject({ code: "HUB_REPO_NOT_FOUND" })
    expect((error as Error).message).toContain('"pagkit/no-such-model" was not found on http://127.0.0.1')
    await expect(resolveModel(CN, { env: env(), revision: "v9" })).rejects.toMatchObject({ code: "HUB_REVISION_NOT_FOUND" })
    await expect(resolveModel("not a/valid id!", { env: env() })).rejects.toMatchObject({ code: "HUB_INVALID_ID" })
    await expect(resolveModel("./no/such/dir", { env: env() })).rejects.toMatchObject({ code: "HUB_DIR_NOT_FOUND" })
    await expect(resolveModel(join(models, "tiny-sdxl/model_index.json"), { env: env() })).rejects.toMatchObject({
      code: "HUB_DIR_NOT_FOUND",
    })
  })

  it("resumes an interrupted download with a range request", async () => {
    freshHome()
    hub.dropAfter("unet/model.onnx_data", 300_000)
    const error = await resolveModel(CN, { env: env() }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: "HUB_REQUEST_FAILED" })
    const storage = join(home, "hub", "models--pagkit--unet-controlnet")
    const data = hub.repos.get(CN)!.files.get("unet/model.onnx_data")!
    const partial = join(storage, "blobs", `${data.sha256}.incomplete`)
    const kept = statSync(partial).size
    expect(kept).toBeGreaterThan(0)
    expect(kept).toBeLessThan(data.bytes.length)
    hub.requests.length = 0
    const events: HubProgressEvent[] = []
    const dir = await resolveModel(CN, { env: env(), onProgress: (e) => events.push(e) })
    expect(hub.requests.some((r) => r.url.endsWith("unet/model.onnx_data") && r.range === `bytes=${kept}-${data.bytes.length - 1}`)).toBe(
      true,
    )
    expect(events.find((e) => e.file === "unet/model.onnx_data" && e.type === "file-start")).toMatchObject({
      source: "resume",
      fileLoaded: kept,
    })
    expect(readFileSync(join(dir, "unet/model.onnx_data")).equals(data.bytes)).toBe(true)
    expect(existsSync(partial)).toBe(false)
  })

  it("detects a corrupt transfer by its sha256 and keeps nothing of it", async () => {
    freshHome()
    hub.corrupt("unet/model.onnx")
    const error = await resolveModel(CN, { env: env() }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: "HUB_CHECKSUM_MISMATCH", file: "unet/model.onnx" })
    expect((error as Error).message).toMatch(/sha256 is [0-9a-f]{64}, expected [0-9a-f]{64}/)
    const blobs = readdirSync(join(home, "hub", "models--pagkit--unet-controlnet", "blobs"))
    expect(blobs).not.toContain(hub.repos.get(CN)!.files.get("unet/model.onnx")!.sha256)
    expect(blobs.some((n) => n.endsWith(".incomplete"))).toBe(false)
  })

  it("a cached blob of the wrong size is downloaded again", async () => {
    freshHome()
    const dir = await resolveModel(CN, { env: env(), subfolder: "unet" })
    writeFileSync(join(dir, "config.json"), "{}") // same inode as the blob: both are damaged
    const again = await resolveModel(CN, { env: env(), subfolder: "unet" })
    expect(readFileSync(join(again, "config.json")).equals(hub.repos.get(CN)!.files.get("unet/config.json")!.bytes)).toBe(true)
  })

  it("sends the token from HF_TOKEN and rejects one that cannot be a hub token", async () => {
    freshHome()
    await resolveModel(CN, { env: { ...env(), HF_TOKEN: "hf_test" }, subfolder: "unet" })
    expect(hub.requests.every((r) => r.authorization === "Bearer hf_test")).toBe(true)
    await expect(resolveModel(CN, { env: env(), token: "abc", subfolder: "unet" })).rejects.toMatchObject({ code: "HUB_INVALID_TOKEN" })
  })
})

describe("onnxruntime loads what resolveModel returns", () => {
  it("creates sessions on a downloaded model with external data, by path and from a buffer", async () => {
    freshHome()
    const dir = await resolveModel(CN, { env: env(), subfolder: "unet" })
    const byPath = await ort.InferenceSession.create(join(dir, "model.onnx"))
    expect(byPath.inputNames.length).toBeGreaterThan(3)
    const fromBuffer = await ort.InferenceSession.create(readFileSync(join(dir, "model.onnx")), {
      extra: { session: { model_external_initializers_file_folder_path: dir } },
    })
    expect(fromBuffer.inputNames).toEqual(byPath.inputNames)
  })

  it.each([false, true])("turns Python's symlinked snapshot files into hard links so they load (offline: %s)", async (offline) => {
    freshHome()
    // lay the snapshot out as huggingface_hub does: relative symlinks into blobs/
    const commit = hub.repos.get(CN)!.commit
    const storage = join(home, "hub", "models--pagkit--unet-controlnet")
    for (const [path, file] of hub.repos.get(CN)!.files) {
      if (!path.startsWith("unet/")) continue
      const blob = join(storage, "blobs", file.lfs ? file.sha256 : file.gitOid)
      mkdirSync(dirname(blob), { recursive: true })
      writeFileSync(blob, file.bytes)
      const pointer = join(storage, "snapshots", commit, path)
      mkdirSync(dirname(pointer), { recursive: true })
      symlinkSync(join("../../../blobs", file.lfs ? file.sha256 : file.gitOid), pointer)
    }
    const python = join(storage, "snapshots", commit, "unet")
    await expect(resolveModel(python)).rejects.toMatchObject({ code: "HUB_SYMLINKED_EXTERNAL_DATA" })
    await expect(
      ort.InferenceSession.create(readFileSync(join(python, "model.onnx")), {
        extra: { session: { model_external_initializers_file_folder_path: python } },
      }),
    ).rejects.toThrow(/escapes model directory/)
    const dir = await resolveModel(CN, { env: env(), subfolder: "unet", ...(offline ? { offline: true, revision: commit } : {}) })
    expect(dir).toBe(python)
    expect(resolves()).toBe(0)
    expect(lstatSync(join(dir, "model.onnx_data")).isSymbolicLink()).toBe(false)
    await ort.InferenceSession.create(readFileSync(join(dir, "model.onnx")), {
      extra: { session: { model_external_initializers_file_folder_path: dir } },
    })
  })
})

describe("resolveModel on a folder", () => {
  it("returns a plain folder as is and names the symlink onnxruntime would refuse", async () => {
    freshHome()
    const own = join(home, "my-unet")
    mkdirSync(own)
    writeFileSync(join(own, "model.onnx"), readFileSync(join(models, "variants/unet-controlnet/model.onnx")))
    symlinkSync(join(models, "variants/unet-controlnet/model.onnx_data"), join(own, "model.onnx_data"))
    const error = await resolveModel(own).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: "HUB_SYMLINKED_EXTERNAL_DATA" })
    expect((error as Error).message).toContain(
      `${join(own, "model.onnx_data")} -> ${join(models, "variants/unet-controlnet/model.onnx_data")}`,
    )
    expect(await resolveModel(join(models, "variants/unet-controlnet"))).toBe(join(models, "variants/unet-controlnet"))
    expect(hub.requests).toEqual([])
  })
})
