import path from "node:path"
import { describe, expect, it } from "vitest"
import { tinyModelPath, tinyModelsDir, tinyOraclesDir } from "@pagkit/tiny-models"
import { parseCli } from "./args.js"
import type { CliOptions } from "./args.js"
import { prepareRun, withStrategyHint } from "./run-command.js"

const image = path.join(tinyOraclesDir(), "images", "init-64.png")
const signal = new AbortController().signal

function options(argv: string[]): CliOptions {
  const parsed = parseCli(argv)
  if (parsed.kind !== "run") throw new Error(parsed.kind)
  return parsed.options
}

describe("prepareRun: flags → worker request", () => {
  it("passes diffusers' scalar options when no chain-only flag is given", async () => {
    const run = await prepareRun(options(["generate", "-p", "a", "-o", "x.png", "-g", "7", "--pag-layers", "up", "-n", "4", "--scheduler", "EulerDiscreteScheduler"]), signal)
    expect(run.familyId).toBe("sdxl")
    expect(run.pipeline).toEqual({ task: "text2image", modelDir: tinyModelPath("tiny-sdxl-shapes"), enablePag: true, pagAppliedLayers: ["up"], scheduler: "EulerDiscreteScheduler" })
    expect(run.callFor(5)).toEqual({ prompt: "a", numInferenceSteps: 4, numImagesPerPrompt: 1, guidanceScale: 7, pagScale: 3, seed: 5 })
  })

  it("sends a chain (and no PAG pipeline flag) for windows and family flags, with the family's defaults", async () => {
    const run = await prepareRun(options(["generate", "-p", "a", "-o", "x.png", "-m", tinyModelPath("tiny-pixart-sigma"), "--pag-window", "0,0.5", "--apg", "--apg-momentum", "-0.5"]), signal)
    expect(run.pipeline.enablePag).toBe(false)
    expect(run.pipeline.pagAppliedLayers).toBeUndefined()
    expect(run.callFor(0)).toMatchObject({
      guidance: { guidance: [{ name: "apg", scale: 4.5, momentum: -0.5 }, { name: "pag", scale: 3, layers: ["blocks.1"], window: [0, 0.5] }] },
      numInferenceSteps: 50,
    })
    expect(run.callFor(0)).not.toHaveProperty("pagScale")
  })

  it("maps ControlNet (control image as `image` for text-to-image, `controlImage` for img2img), adapters and runtime flags", async () => {
    const models = tinyModelsDir()
    const argv = [
      "-p", "a", "-o", "x.png", "-m", tinyModelPath("tiny-sdxl"), "--unet", tinyModelPath("variants/unet-controlnet"),
      "--controlnet", tinyModelPath("tiny-controlnet-sdxl"), "--control-image", image, "--controlnet-scale", "0.5",
      "--ip-adapter", path.join(models, "tiny-ip-adapter", "ip-adapter_tiny-sdxl.safetensors"), "--ip-adapter-image", image,
      "--ip-adapter-scale", "0.6", "--layer-matching", "strict", "--execution-provider", "cpu",
    ]
    const generate = await prepareRun(options(["generate", ...argv]), signal)
    expect(generate.pipeline).toMatchObject({
      unet: tinyModelPath("variants/unet-controlnet"),
      controlnet: tinyModelPath("tiny-controlnet-sdxl"),
      ipAdapter: {
        weights: path.join(models, "tiny-ip-adapter", "ip-adapter_tiny-sdxl.safetensors"),
        imageEncoder: path.join(models, "tiny-ip-adapter", "image_encoder"),
        featureExtractor: path.join(models, "tiny-ip-adapter", "feature_extractor"),
      },
      ipAdapterScale: 0.6,
      layerMatching: "strict",
      executionProviders: ["cpu"],
    })
    expect(generate.callFor(0)).toMatchObject({ image, controlnetConditioningScale: 0.5, ipAdapterImage: image })
    const img2img = await prepareRun(options(["img2img", ...argv, "-i", image, "--strength", "0.5"]), signal)
    expect(img2img.pipeline.task).toBe("image2image")
    expect(img2img.callFor(1)).toMatchObject({ image, controlImage: image, strength: 0.5, seed: 1 })
  })

  it.each([
    [["generate", "-p", "a", "-o", "x.png", "--unet", "/nonexistent/unet"], /--unet: UNet folder not found/],
    [["generate", "-p", "a", "-o", "x.png", "--ip-adapter", image, "--ip-adapter-image", image], /--ip-adapter needs the CLIP image encoder/],
    [["img2img", "-p", "a", "-o", "x.png", "-i", tinyOraclesDir()], /--image: .* is a folder/],
    [["inpaint", "-p", "a", "-o", "x.png", "-i", image, "--mask", "/nonexistent/mask.png"], /--mask: file not found/],
  ])("refuses %j before running (exit 2)", async (argv, message) => {
    await expect(prepareRun(options(argv), signal)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(message) })
  })
})

describe("withStrategyHint", () => {
  it("says what to do when a family flag's strategy is not in the worker's catalogue, keeping the error", () => {
    const error = Object.assign(new Error('guidance JSON entry 2: unknown strategy "seg" (did you mean "cfg"?); known: cfg, pag.'), { code: "GUIDANCE_OPTIONS" })
    expect(withStrategyHint(error)).toBe(error)
    expect(error.message).toMatch(/--seg-scale asks for the "seg" strategy, which this build's pipelines do not ship yet/)
    const other = new Error('guidance JSON entry 1: unknown strategy "segg"')
    expect((withStrategyHint(other) as Error).message).toBe('guidance JSON entry 1: unknown strategy "segg"')
  })
})
