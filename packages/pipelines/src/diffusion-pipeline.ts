import { loadModelIndex } from "@pagkit/models-core"
import { AutoPipelineForText2Image } from "./auto-pipeline.js"
import type { FromPretrainedOptions } from "./auto-pipeline.js"
import { PipelineError } from "./errors.js"
import { PixArtSigmaPipeline } from "./pixart/pixart-sigma-pipeline.js"
import type { SdxlText2ImagePipeline } from "./sdxl/text2image.js"

/** Any text-to-image pipeline pagkit can load from a folder. */
export type Text2ImagePipeline = SdxlText2ImagePipeline | PixArtSigmaPipeline

/** `model_index.json` `_class_name` families pagkit loads. */
const families = [
  { pattern: /^StableDiffusionXL/, name: "Stable Diffusion XL" },
  { pattern: /^PixArtSigma/, name: "PixArt-Sigma" },
] as const

/**
 * Loads whichever text-to-image pipeline a folder holds, by its `model_index.json` (diffusers'
 * `DiffusionPipeline.from_pretrained`): SDXL folders give an `SdxlText2ImagePipeline`, PixArt-Sigma folders a
 * `PixArtSigmaPipeline`.
 * @example
 * const pipe = await DiffusionPipeline.fromPretrained("models/pixart-sigma", { pagAppliedLayers: ["blocks.14"] })
 * @namespace
 */
export const DiffusionPipeline = {
  async fromPretrained(dir: string, options: FromPretrainedOptions = {}): Promise<Text2ImagePipeline> {
    const className = (await loadModelIndex(dir)).className ?? "pipeline without _class_name"
    if (families[1].pattern.test(className)) {
      return PixArtSigmaPipeline.fromPretrained(dir, {
        ...(options.pagAppliedLayers === undefined ? {} : { pagAppliedLayers: options.pagAppliedLayers }),
        ...(options.layerMatching === undefined ? {} : { layerMatching: options.layerMatching }),
        ...(options.executionProviders === undefined ? {} : { executionProviders: options.executionProviders }),
      })
    }
    if (families[0].pattern.test(className)) return AutoPipelineForText2Image.fromPretrained(dir, options)
    throw new PipelineError(
      "UNSUPPORTED_PIPELINE",
      `"${dir}" holds a ${className}; pagkit loads ${families.map((f) => f.name).join(" and ")} folders. ` +
        `Export one of those with diffusers or Optimum (model_index.json names the class).`,
    )
  },
}
