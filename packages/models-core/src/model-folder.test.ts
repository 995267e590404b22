import { mkdtemp, mkdir, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { createSession } from "@pagkit/onnx"
import { assertComponentKind, detectComponentKind } from "./component-kind.js"
import { ComponentKindError, MissingModelFileError, ModelConfigError, ModelFolderError } from "./errors.js"
import { tinyModel } from "./internal/fixtures.js"
import { loadModelIndex, locateOnnxModel, readComponentConfig } from "./model-folder.js"

describe("model folders", () => {
  it("reads model_index.json of tiny-sdxl", async () => {
    const index = await loadModelIndex(tinyModel("tiny-sdxl"))
    expect(index.className).toBe("StableDiffusionXLPipeline")
    expect(index.components["unet"]).toEqual({ library: "diffusers", className: "UNet2DConditionModel" })
    expect(index.components["text_encoder_2"]?.className).toBe("CLIPTextModelWithProjection")
    expect(index.forceZerosForEmptyPrompt).toBe(true)
    expect(index.requiresAestheticsScore).toBeUndefined()
  })

  it("reads component configs, scheduler_config.json included", async () => {
    const scheduler = await readComponentConfig(tinyModel("tiny-sdxl"), "scheduler")
    expect(scheduler?.["_class_name"]).toBe("EulerDiscreteScheduler")
    const unet = await readComponentConfig(tinyModel("tiny-sdxl"), "unet")
    expect(unet?.["down_block_types"]).toHaveLength(3)
    expect(await readComponentConfig(tinyModel("tiny-sdxl"), "nothing", { required: false })).toBeUndefined()
    await expect(readComponentConfig(tinyModel("tiny-sdxl"), "nothing")).rejects.toBeInstanceOf(MissingModelFileError)
  })

  it("reads configs holding Python's bare -Infinity (tiny-pixart-sigma's DPMSolver scheduler)", async () => {
    const scheduler = await readComponentConfig(tinyModel("tiny-pixart-sigma"), "scheduler")
    expect(scheduler?.["_class_name"]).toBe("DPMSolverMultistepScheduler")
    expect(scheduler?.["lambda_min_clipped"]).toBe(-Infinity)
  })

  it("locates ONNX files and their external data", async () => {
    const unet = await locateOnnxModel(tinyModel("tiny-sdxl"), "unet")
    expect(unet.modelPath.endsWith(path.join("unet", "model.onnx"))).toBe(true)
    expect(unet.externalData).toEqual([])
    const variant = await locateOnnxModel(tinyModel("variants/unet-controlnet"), "")
    expect(variant.externalData.map((f) => path.basename(f))).toEqual(["model.onnx_data"])
  })

  it("explains a missing folder, a missing file and bad JSON", async () => {
    await expect(loadModelIndex("/nonexistent/pagkit-model")).rejects.toBeInstanceOf(ModelFolderError)
    await expect(loadModelIndex("/nonexistent/pagkit-model")).rejects.toThrow(/model_index.json/)
    const dir = await mkdtemp(path.join(tmpdir(), "pagkit-models-core-"))
    await expect(loadModelIndex(dir)).rejects.toBeInstanceOf(MissingModelFileError)
    await mkdir(path.join(dir, "unet"))
    await writeFile(path.join(dir, "unet", "config.json"), "{}")
    const missing = await locateOnnxModel(dir, "unet").catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(MissingModelFileError)
    expect((missing as Error).message).toMatch(/unet.*model\.onnx/)
    expect((missing as Error).message).toMatch(/vae_decoder/)
    await expect(locateOnnxModel(dir, "vae_decoder")).rejects.toThrow(/no vae_decoder\/ folder/)
    await writeFile(path.join(dir, "model_index.json"), "{ not json")
    await expect(loadModelIndex(dir)).rejects.toBeInstanceOf(ModelConfigError)
    await writeFile(path.join(dir, "model_index.json"), JSON.stringify({ force_zeros_for_empty_prompt: "yes" }))
    await expect(loadModelIndex(dir)).rejects.toThrow(/force_zeros_for_empty_prompt should be true or false/)
  })
})

describe("component kinds", () => {
  it("detects each tiny-sdxl component from its inputs and outputs", async () => {
    const expected = {
      unet: "unet",
      text_encoder: "text-encoder",
      text_encoder_2: "text-encoder",
      vae_encoder: "vae-encoder",
      vae_decoder: "vae-decoder",
    } as const
    for (const [component, kind] of Object.entries(expected)) {
      const location = await locateOnnxModel(tinyModel("tiny-sdxl"), component)
      const session = await createSession(location.modelPath)
      expect(detectComponentKind(session)).toBe(kind)
      await session.release()
    }
  })

  it("rejects a text encoder where a UNet is expected, naming both", async () => {
    const location = await locateOnnxModel(tinyModel("tiny-sdxl"), "text_encoder")
    const session = await createSession(location.modelPath)
    const error = (() => {
      try {
        assertComponentKind(session, "unet", "unet/")
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(ComponentKindError)
    expect((error as ComponentKindError).found).toBe("text-encoder")
    expect((error as Error).message).toMatch(/should hold a UNet.*looks like a text encoder/)
    await session.release()
  })

  it("classifies ControlNet and transformer metadata", () => {
    const io = (names: string[]) => names.map((name) => ({ name, dtype: "float32", shape: [] }))
    expect(
      detectComponentKind({ inputs: io(["sample", "timestep", "encoder_hidden_states", "controlnet_cond"]), outputs: io([]) }),
    ).toBe("controlnet")
    expect(detectComponentKind({ inputs: io(["hidden_states", "timestep", "encoder_hidden_states"]), outputs: io([]) })).toBe(
      "transformer",
    )
    expect(detectComponentKind({ inputs: io(["x"]), outputs: io(["y"]) })).toBe("unknown")
  })
})
