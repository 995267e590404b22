import { readFile } from "node:fs/promises"
import { describe, expect, it } from "vitest"
import { LayerPatternError } from "@pagkit/onnx"
import { sharedTinyPixArt, tinyModel, tinyOracle } from "./internal/fixtures.js"

describe("loadPixArtSigma", () => {
  it("loads the tiny folder with PAG gates over every self-attention layer", async () => {
    const model = await sharedTinyPixArt()
    expect(model.transformer.session.hasInput("pag_gates")).toBe(true)
    expect(model.transformer.selfAttentionLayers[0]).toBe("transformer_blocks.0.attn1")
    expect(model.vae.scaleFactor).toBe(2)
    expect(model.defaultSize).toEqual({ height: 32, width: 32 })
    expect(model.schedulerConfig["_class_name"]).toBe("DPMSolverMultistepScheduler")
    expect(model.schedulerConfig["lambda_min_clipped"]).toBe(-Infinity) // Python's bare -Infinity in the JSON
  })

  it("resolves PAG patterns like diffusers (oracle) or strictly", async () => {
    const model = await sharedTinyPixArt()
    const oracle = JSON.parse(await readFile(tinyOracle("pixart-sigma-pag-cfg.json"), "utf8")) as {
      pag_applied_layers: string[]
      pag_layers_resolved: string[]
    }
    expect(model.resolvePagLayers(oracle.pag_applied_layers, "diffusers").layers).toEqual(oracle.pag_layers_resolved)
    const strict = model.resolvePagLayers(["blocks.1"], "strict")
    expect(strict.layers).toEqual(["transformer_blocks.1.attn1"])
    expect(strict.notes.join(" ")).toContain("transformer_blocks.10.attn1")
    expect(() => model.resolvePagLayers(["mid"])).toThrow(LayerPatternError)
  })
})

describe("loadPixArtSigma with a text encoder exported without attention_mask", () => {
  it("fails, saying which export is needed", async () => {
    const { mkdtemp, mkdir, rm, symlink, writeFile } = await import("node:fs/promises")
    const { tmpdir } = await import("node:os")
    const path = await import("node:path")
    const { decodeModel, encodeModel, int64Initializer, makeNode } = await import("@pagkit/onnx")
    const { loadPixArtSigma } = await import("./load-pixart-sigma.js")
    const { PixArtModelError } = await import("./errors.js")
    const source = tinyModel("tiny-pixart-sigma")
    const dir = await mkdtemp(path.join(tmpdir(), "pagkit-pixart-nomask-"))
    try {
      for (const entry of ["model_index.json", "scheduler", "tokenizer", "transformer", "vae_decoder"]) {
        await symlink(path.join(source, entry), path.join(dir, entry))
      }
      // The same T5 graph with attention_mask computed inside (all ones) instead of taken as an input.
      const model = decodeModel(new Uint8Array(await readFile(path.join(source, "text_encoder/model.onnx"))))
      const graph = model.graph
      graph.inputs = graph.inputs.filter((i) => i.name !== "attention_mask")
      graph.initializers.push(int64Initializer("pagkit_test_one", [1], []))
      graph.nodes.unshift(
        makeNode({ opType: "Sub", inputs: ["input_ids", "input_ids"], outputs: ["pagkit_test_zeros"], name: "test/Sub" }),
        makeNode({ opType: "Add", inputs: ["pagkit_test_zeros", "pagkit_test_one"], outputs: ["attention_mask"], name: "test/Add" }),
      )
      await mkdir(path.join(dir, "text_encoder"))
      await writeFile(path.join(dir, "text_encoder/model.onnx"), encodeModel(model))
      const load = loadPixArtSigma(dir)
      await expect(load).rejects.toThrow(PixArtModelError)
      await expect(load).rejects.toThrow(/takes only input_ids.*attention_mask/s)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
