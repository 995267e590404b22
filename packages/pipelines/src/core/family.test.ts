// "Add a family" walk-through (docs/guides/plugins.md): a family is a value in the table DiffusionPipeline dispatches by.
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import os from "node:os"
import path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { tinyModelPath } from "@pagkit/tiny-models"
import { DiffusionPipeline, defaultFamilies } from "../diffusion-pipeline.js"
import { PixArtSigmaPipeline } from "../pixart/pixart-sigma-pipeline.js"
import type { PipelineFamily } from "./family.js"

let dir: string | undefined
afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

/** A family as an adapter package would export it: which folders, which tasks, how to load and release. */
const myDitFamily: PipelineFamily<PixArtSigmaPipeline> = {
  id: "my-dit",
  name: "My DiT",
  tasks: ["text2image"],
  matches: (className) => className === "MyDiTPipeline",
  load: (folder, options) =>
    PixArtSigmaPipeline.fromPretrained(folder, options.pagAppliedLayers === undefined ? {} : { pagAppliedLayers: options.pagAppliedLayers }),
  release: (pipe) => pipe.release(),
}

describe("the family table", () => {
  it("dispatches by model_index.json through the table passed in, and names the families it knows otherwise", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "pagkit-family-"))
    await cp(tinyModelPath("tiny-pixart-sigma"), dir, { recursive: true })
    const indexFile = path.join(dir, "model_index.json")
    const index = JSON.parse(await readFile(indexFile, "utf8")) as Record<string, unknown>
    await writeFile(indexFile, JSON.stringify({ ...index, _class_name: "MyDiTPipeline" }))

    await expect(DiffusionPipeline.fromPretrained(dir)).rejects.toThrow(/holds a MyDiTPipeline; pagkit loads Stable Diffusion XL and PixArt-Sigma folders/)
    const pipe = await DiffusionPipeline.fromPretrained(dir, { families: [myDitFamily, ...defaultFamilies], pagAppliedLayers: ["blocks.3"] })
    expect(pipe).toBeInstanceOf(PixArtSigmaPipeline)
    expect(pipe.pagLayersResolved).toEqual(["transformer_blocks.3.attn1"])
    await expect(DiffusionPipeline.fromPretrained(dir, { families: [myDitFamily], task: "inpainting" })).rejects.toThrow(/My DiT pipelines do text2image; "inpainting" is not one of them/)
    await myDitFamily.release(pipe as PixArtSigmaPipeline)
  })
})
