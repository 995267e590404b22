/**
 * Fault injection (issue 16): every component file of an SDXL folder broken in turn — missing, truncated,
 * random bytes, a Git LFS pointer, empty — must give a pagkit error (never a crash, a RangeError or a bare
 * onnxruntime message) that names the file, and for pointer files says to fetch them with Git LFS.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { Vae } from "@pagkit/models-core"
import { loadClipTokenizer } from "@pagkit/tokenizers"
import { PagkitError, SafetensorsFile } from "@pagkit/tensor"
import { tinyModelPath } from "@pagkit/tiny-models"
import { AutoPipelineForText2Image } from "../index.js"
import { brokenFolder } from "./internal/broken-folder.js"
import type { BrokenFolder, Fault } from "./internal/broken-folder.js"

let folder: BrokenFolder
// Tokenizers are pure JS; caching them keeps each load to the sessions under test.
const tokenizers = new Map<string, ReturnType<typeof loadClipTokenizer>>()
const loadTokenizer = (dir: string): ReturnType<typeof loadClipTokenizer> => {
  const key = dir.slice(dir.lastIndexOf("/"))
  if (!tokenizers.has(key)) tokenizers.set(key, loadClipTokenizer(dir))
  return tokenizers.get(key)!
}

beforeAll(async () => {
  folder = await brokenFolder(tinyModelPath("tiny-sdxl"))
})
afterEach(async () => folder.restore())
afterAll(async () => folder.remove())

async function loadError(options: { enablePag?: boolean; cachedTokenizers?: boolean } = {}): Promise<PagkitError> {
  const error = await AutoPipelineForText2Image.fromPretrained(folder.dir, {
    enablePag: options.enablePag ?? true,
    ...(options.cachedTokenizers === false ? {} : { loadTokenizer }),
  }).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error, "the load should fail").toBeInstanceOf(PagkitError)
  return error as PagkitError
}

// Each component through the loader that reads it: the text encoders and the UNet (hooked, as PAG pipelines
// load it) through the pipeline, the VAE through Vae.load (the pipeline loads it last, after everything else).
const cases: readonly (readonly [string, Fault, "pipeline" | "vae"])[] = [
  ["text_encoder/model.onnx", "missing", "pipeline"],
  ["text_encoder/model.onnx", "truncated", "pipeline"],
  ["text_encoder/model.onnx", "lfs-pointer", "pipeline"],
  ["text_encoder_2/model.onnx", "random", "pipeline"],
  ["text_encoder_2/model.onnx", "empty", "pipeline"],
  ["unet/model.onnx", "missing", "pipeline"],
  ["unet/model.onnx", "truncated", "pipeline"],
  ["unet/model.onnx", "random", "pipeline"],
  ["unet/model.onnx", "lfs-pointer", "pipeline"],
  ["unet/model.onnx", "empty", "pipeline"],
  ["vae_decoder/model.onnx", "missing", "vae"],
  ["vae_decoder/model.onnx", "truncated", "vae"],
  ["vae_decoder/model.onnx", "random", "vae"],
  ["vae_decoder/model.onnx", "lfs-pointer", "vae"],
  ["vae_decoder/model.onnx", "html", "vae"],
  ["vae_encoder/model.onnx", "truncated", "vae"],
  ["vae_encoder/model.onnx", "lfs-pointer", "vae"],
]
const expectations: Record<Fault, { code: RegExp; message: RegExp }> = {
  missing: { code: /^MODEL_FILE_MISSING$/, message: /no model\.onnx/ },
  truncated: { code: /^(ONNX_MODEL_LOAD_FAILED|ONNX_PROTO_INVALID)$/, message: /truncated|not a complete|corrupt/i },
  random: { code: /^(ONNX_MODEL_LOAD_FAILED|ONNX_PROTO_INVALID)$/, message: /ONNX/ },
  "lfs-pointer": { code: /^(ONNX_MODEL_LOAD_FAILED|ONNX_PROTO_INVALID)$/, message: /Git LFS pointer[\s\S]*git lfs pull/ },
  empty: { code: /^(ONNX_MODEL_LOAD_FAILED|ONNX_PROTO_INVALID)$/, message: /empty \(0 bytes\)/ },
  html: { code: /^ONNX_MODEL_LOAD_FAILED$/, message: /text file/ },
}

describe("broken ONNX component files", () => {
  it.each(cases)("%s %s: a clear error naming the file", async (file, fault, loader) => {
    await folder.break(file, fault)
    const error =
      loader === "pipeline"
        ? await loadError()
        : ((await Vae.load(folder.dir, { encoder: file.startsWith("vae_encoder") }).catch((e: unknown) => e)) as PagkitError)
    expect(error).toBeInstanceOf(PagkitError)
    expect(error.code).toMatch(expectations[fault].code)
    expect(error.message).toContain(file.split("/")[0]!)
    if (fault !== "missing") expect(error.message).toContain(file)
    expect(error.message).toMatch(expectations[fault].message)
  })

  it("the UNet loaded without hooks (plain session) names the file and the LFS hint too", async () => {
    await folder.break("unet/model.onnx", "lfs-pointer")
    const error = await loadError({ enablePag: false })
    expect(error.message).toMatch(/unet\/model\.onnx[\s\S]*Git LFS pointer/)
  })
})

describe("broken JSON and tokenizer files", () => {
  it.each([
    ["model_index.json", "MODEL_FILE_MISSING"],
    ["scheduler/scheduler_config.json", "MODEL_FILE_MISSING"],
  ])("%s missing → %s naming it", async (file, code) => {
    await folder.break(file, "missing")
    const error = await loadError()
    expect(error.code).toBe(code)
    expect(error.message).toContain(file)
  })

  it.each(["model_index.json", "scheduler/scheduler_config.json", "vae_decoder/config.json"])("%s truncated → MODEL_CONFIG_INVALID naming it", async (file) => {
    await folder.break(file, "truncated")
    const error = file.startsWith("vae") ? ((await Vae.load(folder.dir).catch((e: unknown) => e)) as PagkitError) : await loadError()
    expect(error.code).toBe("MODEL_CONFIG_INVALID")
    expect(error.message).toContain(file)
  })

  it.each([
    ["tokenizer/tokenizer.json", "truncated"],
    ["tokenizer_2/vocab.json", "random"],
  ] as const)("%s %s → a tokenizer error naming the file", async (file, fault) => {
    await folder.break(file, fault)
    if (file.endsWith("vocab.json")) await folder.break(file.replace("vocab.json", "tokenizer.json"), "missing")
    const error = await loadError({ cachedTokenizers: false })
    expect(error.code).toMatch(/^TOKENIZER_/)
    expect(error.message).toContain(file.split("/")[0]!)
  })

  it("an SDXL folder given to the PixArt-Sigma loader says it is SDXL", async () => {
    const { loadPixArtSigma } = await import("@pagkit/models-pixart-sigma")
    const error = (await loadPixArtSigma(folder.dir).catch((e: unknown) => e)) as PagkitError
    expect(error).toMatchObject({ name: "PixArtModelError", code: "PIXART_MODEL_INVALID" })
    expect(error.message).toMatch(/Stable Diffusion XL folder[\s\S]*StableDiffusionXLPipeline/)
  })
})

describe("external data refused by onnxruntime", () => {
  it("a model.onnx_data symlinked from outside the folder is reported as refused, not as missing", async () => {
    const controlnetUnet = await brokenFolder(tinyModelPath("variants/unet-controlnet"))
    try {
      await controlnetUnet.symlinkOut("model.onnx_data")
      const { createSession } = await import("@pagkit/onnx")
      const error = (await createSession(`${controlnetUnet.dir}/model.onnx`).catch((e: unknown) => e)) as PagkitError
      expect(error.code).toBe("ONNX_EXTERNAL_DATA_REFUSED")
      expect(error.message).toMatch(/outside the model's folder[\s\S]*Copy the external data file/)
      expect(error.message).not.toMatch(/was not found/)
      await controlnetUnet.break("model.onnx_data", "missing")
      expect(await createSession(`${controlnetUnet.dir}/model.onnx`).catch((e: unknown) => e)).toMatchObject({ code: "ONNX_EXTERNAL_DATA_MISSING" })
    } finally {
      await controlnetUnet.remove()
    }
  })
})

describe("weights files in another format", () => {
  it("a PyTorch pickle .bin given to the safetensors reader says what it is and what to use", async () => {
    const pickle = `${tinyModelPath("tiny-ip-adapter")}/ip-adapter-plus_tiny-sdxl.bin`
    const error = (await SafetensorsFile.open(pickle).catch((e: unknown) => e)) as PagkitError
    expect(error).toMatchObject({ name: "SafetensorsError", code: "SAFETENSORS_WRONG_FORMAT" })
    expect(error.message).toMatch(/PyTorch checkpoint[\s\S]*\.safetensors/)
    expect(error.message).not.toMatch(/runs past the end/)
  })

  it("a Git LFS pointer .safetensors says to pull it", async () => {
    const weights = await brokenFolder(tinyModelPath("tiny-ip-adapter"))
    try {
      const file = await weights.break("ip-adapter_tiny-sdxl.safetensors", "lfs-pointer")
      await expect(SafetensorsFile.open(file)).rejects.toThrow(/Git LFS pointer[\s\S]*git lfs pull/)
    } finally {
      await weights.remove()
    }
  })
})
