import { applyOverlay, getCropRegion, lanczosResizer, nearestResizer, preprocessMask } from "@pagkit/models-core"
import { blendInpaintLatents, prepareInpaintLatents } from "@pagkit/models-sdxl"
import { concat } from "@pagkit/tensor"
import { InvalidOptionError } from "../errors.js"
import { readImageInput } from "../image-input.js"
import { SdxlPipeline } from "./sdxl-pipeline.js"
import type { PrepareContext, PreparedRun } from "./sdxl-pipeline.js"
import type { SdxlInpaintOptions } from "./sdxl-options.js"
import { checkNumber } from "./sdxl-options.js"
import { strengthTimesteps } from "./timesteps.js"

/**
 * SDXL inpainting (diffusers' `StableDiffusionXLInpaintPipeline` / `StableDiffusionXLPAGInpaintPipeline`), for
 * 4-channel UNets (blend after each step) and 9-channel inpainting UNets (mask and masked image as UNet input).
 *
 * @example
 * const pipe = await AutoPipelineForInpainting.fromPretrained(dir, { enablePag: true })
 * const out = await pipe.run({ prompt: "a tiger", image: "bench.png", maskImage: "mask.png", strength: 0.8, seed: 1 })
 */
export class SdxlInpaintPipeline extends SdxlPipeline<SdxlInpaintOptions> {
  readonly task = "inpainting" as const
  protected override get defaultGuidanceScale(): number {
    return 7.5
  }

  protected async prepare(options: SdxlInpaintOptions, ctx: PrepareContext): Promise<PreparedRun> {
    checkNumber("paddingMaskCrop", options.paddingMaskCrop, { min: 0, integer: true })
    const original = await readImageInput(options.image, "image")
    const maskInput = await readImageInput(options.maskImage, "maskImage", true)
    const [ih, iw] = [original.shape[2]!, original.shape[3]!]
    if (maskInput.shape[2] !== ih || maskInput.shape[3] !== iw) {
      throw new InvalidOptionError(
        `maskImage is ${maskInput.shape[3]}×${maskInput.shape[2]} but image is ${iw}×${ih}; give a mask of the image's size.`,
      )
    }
    const factor = this.model.vaeScaleFactor
    const height = options.height ?? ih - (ih % factor)
    const width = options.width ?? iw - (iw % factor)
    this.model.checkSize(height, width)
    const fromFile = typeof options.image === "string" || options.image instanceof Uint8Array
    const crop =
      options.paddingMaskCrop === undefined ? undefined : getCropRegion(maskInput, width, height, options.paddingMaskCrop)
    const common = {
      height, width,
      resize: fromFile ? lanczosResizer : nearestResizer,
      ...(crop === undefined ? {} : { cropsCoords: crop, resizeMode: "fill" as const }),
    }
    const image = await this.model.preprocessImage(original, common)
    const mask = await preprocessMask(maskInput, { ...common, vaeScaleFactor: factor })
    const timesteps = strengthTimesteps(ctx.scheduler, options, ctx.numInferenceSteps, 0.9999)
    const strength = options.strength ?? 0.9999
    const unetChannels = this.model.unet.inChannels ?? 4
    const prepared = await prepareInpaintLatents({
      image, mask, batchSize: ctx.batchSize, height, width, timestep: timesteps[0]!, strength,
      vae: this.model.vae, scheduler: ctx.scheduler, generator: ctx.generator, latents: options.latents, unetChannels,
    })
    const finishImages =
      crop === undefined ? undefined : async (images: typeof original) => applyOverlay(maskInput, original, images, { cropsCoords: crop, resize: lanczosResizer })
    const base = { latents: prepared.latents, timesteps, height, width, timeIdsRules: "img2img" as const }
    const withFinish = finishImages === undefined ? base : { ...base, finishImages }
    if (unetChannels === 9) {
      return { ...withFinish, sampleExtras: concat([prepared.mask, prepared.maskedImageLatents!], 1) }
    }
    const imageLatents = prepared.imageLatents!
    return {
      ...withFinish,
      afterStep: (latents, stepCtx) =>
        blendInpaintLatents({
          latents, imageLatents, noise: prepared.noise, mask: prepared.mask, scheduler: ctx.scheduler,
          nextTimestep: timesteps[stepCtx.stepIndex + 1],
        }),
    }
  }
}
