import { describe, expect, it } from "vitest"
import { ComponentKindError, ImageSizeError, MissingModelFileError, ModelFolderError } from "@pagkit/models-core"
import { identityAttention } from "@pagkit/onnx"
import { Tensor } from "@pagkit/tensor"
import { loadClipTokenizer } from "@pagkit/tokenizers"
import { sharedTinySdxl, tinyModel } from "./internal/fixtures.js"
import { loadSdxl } from "./load-sdxl.js"
import type { PromptTokenizer } from "./prompt-tokenizer.js"

const tokenizers = new Map<string, Promise<PromptTokenizer>>()
function cachedTokenizer(folder: string): Promise<PromptTokenizer> {
  if (!tokenizers.has(folder)) tokenizers.set(folder, loadClipTokenizer(folder))
  return tokenizers.get(folder)!
}

describe("loadSdxl", () => {
  it("loads tiny-sdxl with every component and its configs", async () => {
    const model = await loadSdxl(tinyModel("tiny-sdxl"))
    expect(model.vaeScaleFactor).toBe(2)
    expect(model.latentMultiple).toBe(4)
    expect(model.forceZerosForEmptyPrompt).toBe(true)
    expect(model.requiresAestheticsScore).toBe(false)
    expect(model.schedulerConfig["_class_name"]).toBe("EulerDiscreteScheduler")
    expect(model.unet.inChannels).toBe(4)
    expect(model.unet.timeIdsLength).toBe(6)
    expect(model.unet.extraInputs).toEqual([])
    expect(model.vae.encoder).toBeDefined()
    expect(model.tokenizer?.modelMaxLength).toBe(77)
    expect(model.defaultSize()).toEqual({ height: 64, width: 64 })
    expect(() => model.checkSize(64, 96)).not.toThrow()
  })

  it("names the nearest valid sizes for a bad height or width", async () => {
    const model = await sharedTinySdxl()
    const error = (() => {
      try {
        model.checkSize(60, 64)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(ImageSizeError)
    expect((error as Error).message).toMatch(/height 60 is not a multiple of 8; use 56 or 64/)
    expect(() => model.checkSize(64, 0)).toThrow(/width 0/)
  })

  it("takes a UNet from another folder (external data) and exposes its extra inputs", async () => {
    const model = await loadSdxl(tinyModel("tiny-sdxl"), {
      unet: tinyModel("variants/unet-controlnet"),
      vaeEncoder: false,
      loadTokenizer: cachedTokenizer,
    })
    expect(model.unet.extraInputs).toContain("mid_block_additional_residual")
    expect(model.unet.extraInputs.filter((n) => n.startsWith("down_block_additional_residual_"))).toHaveLength(9)
    expect(model.latentMultiple).toBe(4) // falls back to the base unet/config.json
  })

  it("installs hooks in an overriding UNet stored with external data", async () => {
    const model = await loadSdxl(tinyModel("tiny-sdxl"), {
      unet: tinyModel("variants/unet-controlnet"),
      hooks: [identityAttention()],
      vaeEncoder: false,
      loadTokenizer: cachedTokenizer,
    })
    expect(model.vae.encoder).toBeUndefined()
    expect(model.unet.hookKinds).toEqual(["identity-attention"])
    expect(model.unet.layers("identity-attention")).toHaveLength(17)
    expect(model.unet.layerIndex).toBeDefined()
    expect(model.unet.extraInputs).not.toContain("pag_gates")
    expect(model.unet.extraInputs).toHaveLength(10)
    // withUnet shares every other session
    const plain = await loadSdxl(tinyModel("tiny-sdxl"), { vae: model.vae, loadTokenizer: cachedTokenizer })
    expect(plain.vae).toBe(model.vae)
    const swapped = plain.withUnet(model.unet)
    expect(swapped.textEncoder2).toBe(plain.textEncoder2)
    expect(swapped.unet).toBe(model.unet)
    await swapped.release()
    await plain.textEncoder2.release?.() // already released: a no-op
    await expect(plain.textEncoder2.run({ input_ids: Tensor.zeros([1, 77], "int64") })).rejects.toThrow(/released/)
  })

  it("rejects a missing folder, a missing component and a component of the wrong kind", async () => {
    await expect(loadSdxl("/nonexistent/sdxl")).rejects.toBeInstanceOf(ModelFolderError)
    await expect(loadSdxl(tinyModel("variants"))).rejects.toBeInstanceOf(MissingModelFileError)
    const wrong = await loadSdxl(tinyModel("tiny-sdxl"), {
      unet: tinyModel("tiny-sdxl/text_encoder"),
      loadTokenizer: cachedTokenizer,
    }).catch((e: unknown) => e)
    expect(wrong).toBeInstanceOf(ComponentKindError)
    expect((wrong as Error).message).toMatch(/UNet.*text encoder/)
  })
})

describe("loadSdxl failures (issue 16, item 1)", () => {
  it("reports a failing component only after every concurrent load has settled", async () => {
    const { cp, mkdtemp, rm } = await import("node:fs/promises")
    const { tmpdir } = await import("node:os")
    const path = await import("node:path")
    const dir = await mkdtemp(path.join(tmpdir(), "pagkit-sdxl-"))
    try {
      await cp(tinyModel("tiny-sdxl"), dir, { recursive: true })
      await rm(path.join(dir, "text_encoder", "model.onnx"))
      const events: string[] = []
      // A slow tokenizer stands for a session still being created when text_encoder/ fails.
      const slowTokenizer = async (folder: string): Promise<PromptTokenizer> => {
        await new Promise((resolve) => setTimeout(resolve, 300))
        events.push(`loaded ${path.basename(folder)}`)
        return loadClipTokenizer(folder)
      }
      const failure = await loadSdxl(dir, { loadTokenizer: slowTokenizer }).catch((error: unknown) => (events.push("rejected"), error))
      expect(failure).toBeInstanceOf(MissingModelFileError)
      expect(events).toEqual(["loaded tokenizer", "loaded tokenizer_2", "rejected"])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
