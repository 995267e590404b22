import { prepareTextToImageLatents } from "@pagkit/models-sdxl"
import { SdxlPipeline } from "./sdxl-pipeline.js"
import type { PrepareContext, PreparedRun } from "./sdxl-pipeline.js"
import type { SdxlText2ImageOptions } from "./sdxl-options.js"
import { text2imageTimesteps } from "./timesteps.js"

/**
 * SDXL text-to-image (diffusers' `StableDiffusionXLPipeline`, or `StableDiffusionXLPAGPipeline` with PAG layers).
 *
 * @example
 * const pipe = await AutoPipelineForText2Image.fromPretrained(dir, { enablePag: true, pagAppliedLayers: ["mid"] })
 * const out = await pipe.run({ prompt: "a red circle on a white background", guidanceScale: 5, pagScale: 3, seed: 0 })
 * await out.save("circle.png")
 */
export class SdxlText2ImagePipeline extends SdxlPipeline<SdxlText2ImageOptions> {
  readonly task = "text2image" as const

  protected async prepare(options: SdxlText2ImageOptions, ctx: PrepareContext): Promise<PreparedRun> {
    const defaults = ctx.impliedSize ?? this.model.defaultSize()
    const height = options.height ?? defaults.height
    const width = options.width ?? defaults.width
    this.model.checkSize(height, width)
    const timesteps = text2imageTimesteps(ctx.scheduler, options, ctx.numInferenceSteps)
    const latents = prepareTextToImageLatents({
      batchSize: ctx.batchSize,
      height,
      width,
      vaeScaleFactor: this.model.vaeScaleFactor,
      channels: this.model.latentChannels,
      generator: ctx.generator,
      latents: options.latents,
      scheduler: ctx.scheduler,
    })
    return { latents, timesteps, height, width, timeIdsRules: "text2img" }
  }
}
