import { AutoPipelineForImage2Image, AutoPipelineForInpainting, AutoPipelineForText2Image } from "../auto-pipeline.js"
import type { AnySdxlPipeline, FromPipeOptions, FromPretrainedOptions } from "../auto-pipeline.js"
import type { FamilyLoadOptions, PipelineFamily } from "../core/family.js"

const auto = { text2image: AutoPipelineForText2Image, image2image: AutoPipelineForImage2Image, inpainting: AutoPipelineForInpainting } as const

function loadOptions(options: FamilyLoadOptions): FromPretrainedOptions {
  const { task: _task, ...rest } = options
  return rest
}

/** Stable Diffusion XL: text-to-image, image-to-image and inpainting, with ControlNet and IP-Adapter. */
export const sdxlFamily: PipelineFamily<AnySdxlPipeline> = {
  id: "sdxl",
  name: "Stable Diffusion XL",
  tasks: ["text2image", "image2image", "inpainting"],
  matches: (className) => className.startsWith("StableDiffusionXL"),
  load: async (dir, options) => (await auto[options.task].fromPretrained(dir, loadOptions(options))) as AnySdxlPipeline,
  fromPipe: (pipe, options) => {
    const next: FromPipeOptions = {
      enablePag: options.enablePag === true,
      pagAppliedLayers: options.pagAppliedLayers ?? ["mid"],
      ...(options.layerMatching === undefined ? {} : { layerMatching: options.layerMatching }),
      scheduler: options.scheduler ?? pipe.model.schedulerConfig,
    }
    return auto[options.task].fromPipe(pipe, next) as AnySdxlPipeline
  },
  release: async (pipe) => {
    await Promise.all([pipe.model.release(), ...(pipe.ipAdapter?.adapters ?? []).map((a) => a.release()), ...pipe.controlnets.map((c) => c.release())])
  },
}
