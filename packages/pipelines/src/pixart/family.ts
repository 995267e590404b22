import { InvalidOptionError } from "../errors.js"
import type { FamilyLoadOptions, PipelineFamily } from "../core/family.js"
import { PixArtSigmaPipeline } from "./pixart-sigma-pipeline.js"

/** Load options PixArt-Sigma does not support: an error names them instead of ignoring them. */
const unsupported = ["unet", "controlnet", "scheduler"] as const

function check(options: FamilyLoadOptions): void {
  if (options.task !== undefined && options.task !== "text2image") {
    throw new InvalidOptionError(`PixArt-Sigma pipelines do text-to-image only; task "${options.task}" needs an SDXL folder.`)
  }
  const given = unsupported.filter((k) => options[k] !== undefined)
  if (given.length > 0) throw new InvalidOptionError(`PixArt-Sigma pipelines do not support ${given.join(", ")}; drop ${given.length > 1 ? "them" : "it"}.`)
}

/** PixArt-Sigma: text-to-image with a DiT transformer and a T5 text encoder. */
export const pixartSigmaFamily: PipelineFamily<PixArtSigmaPipeline> = {
  id: "pixart-sigma",
  name: "PixArt-Sigma",
  tasks: ["text2image"],
  matches: (className) => className.startsWith("PixArtSigma"),
  load: async (dir, options) => {
    check(options)
    return PixArtSigmaPipeline.fromPretrained(dir, {
      ...(options.enablePag === undefined ? {} : { enablePag: options.enablePag }),
      ...(options.pagAppliedLayers === undefined ? {} : { pagAppliedLayers: options.pagAppliedLayers }),
      ...(options.layerMatching === undefined ? {} : { layerMatching: options.layerMatching }),
      ...(options.executionProviders === undefined ? {} : { executionProviders: options.executionProviders }),
      ...(options.sessionOptions === undefined ? {} : { sessionOptions: options.sessionOptions }),
      ...(options.hookCacheDir === undefined ? {} : { hookCacheDir: options.hookCacheDir }),
      ...(options.hooks === undefined ? {} : { hooks: options.hooks }),
      ...(options.hookCatalogue === undefined ? {} : { hookCatalogue: options.hookCatalogue }),
      ...(options.guidanceCatalogue === undefined ? {} : { guidanceCatalogue: options.guidanceCatalogue }),
    })
  },
  fromPipe: (pipe, options) => {
    check(options)
    return new PixArtSigmaPipeline(pipe.host, {
      ...(options.enablePag === undefined ? {} : { enablePag: options.enablePag }),
      ...(options.pagAppliedLayers === undefined ? {} : { pagAppliedLayers: options.pagAppliedLayers }),
      ...(options.layerMatching === undefined ? {} : { layerMatching: options.layerMatching }),
      hookCatalogue: [...pipe.hookCatalogue.values()],
      guidanceCatalogue: pipe.guidanceCatalogue,
    })
  },
  release: (pipe) => pipe.release(),
}
