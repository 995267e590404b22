import { lanczosResizer, nearestResizer } from "@pagkit/models-core"
import { prepareImageToImageLatents } from "@pagkit/models-sdxl"
import { readImageInput } from "../image-input.js"
import { SdxlPipeline } from "./sdxl-pipeline.js"
import type { PrepareContext, PreparedRun } from "./sdxl-pipeline.js"
import type { SdxlImage2ImageOptions } from "./sdxl-options.js"
import { strengthTimesteps } from "./timesteps.js"

/**
 * SDXL image-to-image (diffusers' `StableDiffusionXLImg2ImgPipeline` / `StableDiffusionXLPAGImg2ImgPipeline`).
 *
 * @example
 * const pipe = await AutoPipelineForImage2Image.fromPretrained(dir, { enablePag: true })
 * const out = await pipe.run({ prompt: "a dog catching a frisbee", image: "dog.png", strength: 0.6, seed: 0 })
 */
export class SdxlImage2ImagePipeline extends SdxlPipeline<SdxlImage2ImageOptions> {
  readonly task = "image2image" as const

  protected async prepare(options: SdxlImage2ImageOptions, ctx: PrepareContext): Promise<PreparedRun> {
    const fromFile = typeof options.image === "string" || options.image instanceof Uint8Array
    const image = await this.model.preprocessImage(await readImageInput(options.image, "image"), {
      resize: fromFile ? lanczosResizer : nearestResizer,
    })
    const height = image.shape[2]! * (image.shape[1] === this.model.latentChannels ? this.model.vaeScaleFactor : 1)
    const width = image.shape[3]! * (image.shape[1] === this.model.latentChannels ? this.model.vaeScaleFactor : 1)
    this.model.checkSize(height, width)
    const timesteps = strengthTimesteps(ctx.scheduler, options, ctx.numInferenceSteps, 0.3)
    const { latents } = await prepareImageToImageLatents({
      image,
      batchSize: ctx.batchSize,
      timestep: timesteps[0]!,
      vae: this.model.vae,
      scheduler: ctx.scheduler,
      generator: ctx.generator,
      addNoise: options.denoisingStart === undefined,
    })
    return { latents, timesteps, height, width, timeIdsRules: "img2img" }
  }
}
