import { loadModelIndex } from "@pagkit/models-core"
import type { FamilyLoadOptions, FamilyPipeline, FamilyTable, PipelineFamily, PipelineTask } from "./core/family.js"
import { PipelineError } from "./errors.js"
import { modelFolder, withoutHubOptions } from "./core/model-source.js"
import type { PixArtSigmaPipeline } from "./pixart/pixart-sigma-pipeline.js"
import type { SdxlText2ImagePipeline } from "./sdxl/text2image.js"

/** Any text-to-image pipeline the families pagkit ships load from a folder. */
export type Text2ImagePipeline = SdxlText2ImagePipeline | PixArtSigmaPipeline
import { pixartSigmaFamily } from "./pixart/family.js"
import { sdxlFamily } from "./sdxl/family.js"

/** The families pagkit ships, in dispatch order. Adding a family: its adapter package, one entry here, its conformance kind. */
export const defaultFamilies: FamilyTable = Object.freeze([sdxlFamily as unknown as PipelineFamily, pixartSigmaFamily as unknown as PipelineFamily])

/** The family of a folder, by its `model_index.json` `_class_name`; an error names the class and the families known. */
export async function familyOf(dir: string, families: FamilyTable = defaultFamilies): Promise<PipelineFamily> {
  const className = (await loadModelIndex(dir)).className ?? "pipeline without _class_name"
  const family = families.find((f) => f.matches(className))
  if (family === undefined) {
    throw new PipelineError(
      "UNSUPPORTED_PIPELINE",
      `"${dir}" holds a ${className}; pagkit loads ${families.map((f) => f.name).join(" and ")} folders. ` +
        `Export one of those with diffusers or Optimum (model_index.json names the class), or pass a family table that has this class.`,
    )
  }
  return family
}

/** Options of {@link DiffusionPipeline.fromPretrained}: a task (default text-to-image) and the family's load options. */
export interface DiffusionPipelineOptions extends FamilyLoadOptions {
  /** Families to dispatch among (default {@link defaultFamilies}). */
  readonly families?: FamilyTable
}

/**
 * Loads whichever pipeline a folder holds, by its `model_index.json` (diffusers' `DiffusionPipeline.from_pretrained`),
 * through a table of model families: SDXL folders give SDXL pipelines, PixArt-Sigma folders a `PixArtSigmaPipeline`.
 * @example
 * const pipe = await DiffusionPipeline.fromPretrained("models/pixart-sigma", { pagAppliedLayers: ["blocks.14"] })
 * @namespace
 */
export const DiffusionPipeline = {
  async fromPretrained(idOrDir: string, options: DiffusionPipelineOptions = {}): Promise<FamilyPipeline> {
    const { families, ...given } = options
    const dir = await modelFolder(idOrDir, given)
    const load = withoutHubOptions(given)
    const family = await familyOf(dir, families)
    const task: PipelineTask = load.task ?? "text2image"
    if (!family.tasks.includes(task)) {
      throw new PipelineError("UNSUPPORTED_TASK", `${family.name} pipelines do ${family.tasks.join(", ")}; "${task}" is not one of them.`)
    }
    return family.load(dir, { ...load, task })
  },
}
