/**
 * Fault injection (issue 16, item 2): config values and weights that used to decode to an all-black image
 * (NaN or Infinity everywhere) are refused when the folder loads, or stopped at the step where values go bad.
 */
import { readFile } from "node:fs/promises"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { schedulerFromConfig } from "@pagkit/schedulers"
import { Vae } from "@pagkit/models-core"
import { PagkitError, Tensor } from "@pagkit/tensor"
import { loadClipTokenizer } from "@pagkit/tokenizers"
import { tinyModelPath } from "@pagkit/tiny-models"
import { AutoPipelineForText2Image, NonFiniteError, assertFiniteImages } from "../index.js"
import { brokenFolder, poisonInitializer } from "./internal/broken-folder.js"
import type { BrokenFolder } from "./internal/broken-folder.js"

let folder: BrokenFolder
const loadTokenizer = (dir: string): ReturnType<typeof loadClipTokenizer> => loadClipTokenizer(dir)
const call = { prompt: "a red circle", height: 64, width: 64, numInferenceSteps: 2, seed: 0 } as const

beforeAll(async () => {
  folder = await brokenFolder(tinyModelPath("tiny-sdxl"))
})
afterEach(async () => folder.restore())
afterAll(async () => folder.remove())

/** Loads the broken folder and, when that works, runs two steps; returns what was thrown. */
async function loadAndRun(): Promise<PagkitError> {
  const error = await AutoPipelineForText2Image.fromPretrained(folder.dir, { loadTokenizer, vaeEncoder: false })
    .then((pipe) => pipe.run(call))
    .then(
      () => undefined,
      (e: unknown) => e,
    )
  expect(error, "expected an error, the run finished").toBeInstanceOf(PagkitError)
  return error as PagkitError
}

describe("hostile VAE configs", () => {
  it.each([
    [{ scaling_factor: 0 }, /scaling_factor must be > 0[\s\S]*found 0/],
    [{ scaling_factor: -0.13 }, /scaling_factor must be > 0/],
    [{ scaling_factor: "0.13" }, /scaling_factor should be a number/],
    [{ latent_channels: 0 }, /latent_channels must be an integer ≥ 1/],
    [{ latents_std: [1, 0, 1, 1], latents_mean: [0, 0, 0, 0] }, /latents_std must hold finite numbers > 0/],
  ])("vae_decoder/config.json %j → MODEL_CONFIG_INVALID naming file and field", async (patch, message) => {
    await folder.patchJson("vae_decoder/config.json", patch)
    const error = (await Vae.load(folder.dir, { encoder: false }).catch((e: unknown) => e)) as PagkitError
    expect(error).toMatchObject({ name: "ModelConfigError", code: "MODEL_CONFIG_INVALID" })
    expect(error.message).toContain("vae_decoder/config.json")
    expect(error.message).toMatch(message)
  })
})

describe("hostile scheduler configs", () => {
  it.each([
    [{ beta_end: -1 }, /beta_end must be in \(0, 1\), found -1/],
    [{ beta_start: 1.5 }, /beta_start must be in \(0, 1\)/],
    [{ beta_start: 0.02, beta_end: 0.01 }, /beta_start must be below beta_end/],
    [{ num_train_timesteps: 0 }, /num_train_timesteps should be at least 1/],
  ])("scheduler_config.json %j → InvalidSchedulerConfigError naming the field", async (patch, message) => {
    const file = await folder.patchJson("scheduler/scheduler_config.json", patch)
    const config = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>
    const error = (() => {
      try {
        schedulerFromConfig(config)
      } catch (e) {
        return e as PagkitError
      }
      throw new Error("expected schedulerFromConfig to throw")
    })()
    expect(error).toMatchObject({ name: "InvalidSchedulerConfigError", code: "INVALID_SCHEDULER_CONFIG" })
    expect(error.message).toMatch(message)
  })

  it("the pipeline refuses beta_end: -1 (it used to write an all-black image)", async () => {
    await folder.patchJson("scheduler/scheduler_config.json", { beta_end: -1 })
    const error = await loadAndRun()
    expect(error).toMatchObject({ name: "InvalidSchedulerConfigError", code: "INVALID_SCHEDULER_CONFIG" })
    expect(error.message).toMatch(/EulerDiscreteScheduler: beta_end must be in \(0, 1\), found -1/)
  })
})

describe("NaN weights", () => {
  it("a NaN bias in the UNet stops the run at step 1 with a NonFiniteError naming the model prediction", async () => {
    await poisonInitializer(`${folder.dir}/unet/model.onnx`, "conv_out.bias")
    const error = await loadAndRun()
    expect(error).toBeInstanceOf(NonFiniteError)
    expect(error).toMatchObject({ code: "NON_FINITE", step: 0 })
    expect(error.message).toMatch(/finite model prediction at step 1 of 2[\s\S]*NaN[\s\S]*weights/)
  })

  it("a NaN bias in the VAE decoder gives NaN pixels, which assertFiniteImages refuses (and allowNonFinite lets through)", async () => {
    await poisonInitializer(`${folder.dir}/vae_decoder/model.onnx`, "decoder.conv_out.bias")
    const vae = await Vae.load(folder.dir, { encoder: false })
    try {
      const images = await vae.decode(Tensor.zeros([1, 4, 8, 8], "float32"))
      expect(() => assertFiniteImages(images)).toThrow(NonFiniteError)
      expect(() => assertFiniteImages(images)).toThrow(/finite pixels from the VAE decoder[\s\S]*NaN/)
      expect(assertFiniteImages(images, { allowNonFinite: true })).toBe(images)
    } finally {
      await vae.release()
    }
  })
})
