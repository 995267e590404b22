import { existsSync } from "node:fs"
import path from "node:path"
import { loadControlNet } from "@pagkit/controlnet"
import type { ControlNet } from "@pagkit/controlnet"
import { loadModelIndex, locateOnnxModel, withLoadScope } from "@pagkit/models-core"
import { PipelineError } from "./errors.js"
import { loadHookedModel } from "@pagkit/onnx"
import type { HookKind } from "@pagkit/onnx"
import type { GuidanceCatalogue } from "@pagkit/guidance"
import { loadSdxl, sdxlUnetFromHooked } from "@pagkit/models-sdxl"
import type { LoadSdxlOptions } from "@pagkit/models-sdxl"
import type { SchedulerConfig } from "@pagkit/schedulers"
import type { LayerMatching } from "./layer-resolver.js"
import { SdxlImage2ImagePipeline } from "./sdxl/image2image.js"
import { SdxlInpaintPipeline } from "./sdxl/inpainting.js"
import { SdxlHost } from "./sdxl/sdxl-pipeline.js"
import { modelFolder, withoutHubOptions } from "./core/model-source.js"
import type { HubLoadOptions } from "./core/model-source.js"
import type { SdxlPipeline, SdxlTask } from "./sdxl/sdxl-pipeline.js"
import { defaultHookKinds, kindsByName } from "./core/catalogues.js"
import type { HookCatalogue } from "./core/catalogues.js"
import { IDENTITY_ATTENTION } from "@pagkit/onnx"
import type { SdxlCallOptions } from "./sdxl/sdxl-options.js"
import { SdxlText2ImagePipeline } from "./sdxl/text2image.js"

/** Options of `AutoPipelineFor….fromPretrained`; the hub options apply when `dir` is a model id (`org/name`). */
export interface FromPretrainedOptions extends Omit<LoadSdxlOptions, "hooks" | "unet">, HubLoadOptions {
  /**
   * Replace the UNet: a folder or model id holding `model.onnx` (like `variants/unet-controlnet`), a pipeline folder with
   * `unet/`, or a ready session with its hooks.
   */
  readonly unet?: LoadSdxlOptions["unet"]
  /** Make a PAG pipeline (diffusers' `enable_pag=True`). The UNet graph gets the identity-attention hook either way. */
  readonly enablePag?: boolean
  /** PAG layer patterns (default `["mid"]`). */
  readonly pagAppliedLayers?: string | readonly string[]
  /** How layer patterns are read (default `"diffusers"`). */
  readonly layerMatching?: LayerMatching
  /** A scheduler class name or config instead of the folder's. */
  readonly scheduler?: string | SchedulerConfig
  /**
   * ControlNet folder(s) or loaded ControlNet(s): makes a ControlNet pipeline. The UNet must take residual inputs
   * (`down_block_additional_residual_*`); pass `unet` when the folder's own UNet does not.
   */
  readonly controlnet?: string | ControlNet | readonly (string | ControlNet)[]
  /**
   * Hook kinds to install in the denoiser graph now (custom kinds included), besides PAG's identity attention.
   * A chain that declares another kind gets it installed on its first run, from {@link hookCatalogue}.
   */
  readonly hooks?: readonly HookKind[]
  /** More hook kinds runs may install on demand, besides the kinds pagkit ships and `hooks`. */
  readonly hookCatalogue?: HookCatalogue
  /** Strategies a JSON guidance chain may name (default: the strategies pagkit ships). */
  readonly guidanceCatalogue?: GuidanceCatalogue
}

/** Options of `AutoPipelineFor….fromPipe`. */
export interface FromPipeOptions {
  /** PAG on or off; default: as the source pipeline. */
  readonly enablePag?: boolean
  /** PAG layer patterns (`pag_applied_layers`) for the new pipeline; default: the source's, or `["mid"]`. */
  readonly pagAppliedLayers?: string | readonly string[]
  /** ControlNets for the new pipeline; default: the source's. `[]` makes a pipeline without ControlNet. */
  readonly controlnet?: readonly ControlNet[]
  /** How layer patterns are read (default `"diffusers"`). */
  readonly layerMatching?: LayerMatching
  /** A scheduler class name or config instead of the source's. */
  readonly scheduler?: string | SchedulerConfig
}

/** Any SDXL pipeline (text-to-image, image-to-image or inpainting), as `fromPipe` takes it. */
export type AnySdxlPipeline = SdxlPipeline<SdxlCallOptions>

const constructors = {
  text2image: SdxlText2ImagePipeline,
  image2image: SdxlImage2ImagePipeline,
  inpainting: SdxlInpaintPipeline,
} as const

function layersOf(value: string | readonly string[] | undefined): readonly string[] {
  return value === undefined ? ["mid"] : typeof value === "string" ? [value] : value
}

/**
 * Loads an SDXL folder once with the identity-attention hook installed in the UNet graph, so that PAG can be turned
 * on, off or moved to other layers later by changing gate values only.
 */
async function loadHost(dir: string, options: FromPretrainedOptions, unetPath: string | undefined): Promise<SdxlHost> {
  const {
    enablePag: _e, pagAppliedLayers: _p, layerMatching: _l, scheduler: _s, controlnet: _c,
    hooks: extra, hookCatalogue, guidanceCatalogue: _g, ...load
  } = options
  const catalogue = kindsByName(defaultHookKinds(), hookCatalogue, extra)
  const identity = catalogue.get(IDENTITY_ATTENTION)
  const kinds = [...kindsByName(identity === undefined ? [] : [identity], extra).values()]
  const { revision: _r, subfolder: _f, cacheDir: _d, token: _t, offline: _o, onDownloadProgress: _p2, ...sdxl } = load
  const model = await loadSdxl(dir, { ...sdxl, hooks: kinds } as LoadSdxlOptions)
  const sessionOptions = {
    ...(load.sessionOptions ?? {}),
    ...(load.executionProviders === undefined ? {} : { executionProviders: load.executionProviders }),
  }
  return new SdxlHost({
    model,
    kinds,
    unetPath,
    rehook: async (current, next) => {
      if (unetPath === undefined) throw new PipelineError("NO_UNET_PATH", "this UNet was given as a ready session, so hook kinds cannot be added; pass its folder instead.")
      const hooked = await loadHookedModel(unetPath, {
        ...sessionOptions,
        hooks: next,
        ...(load.hookCacheDir === undefined ? {} : { cacheDir: load.hookCacheDir }),
      })
      const split = { source: unetPath, cacheDir: load.hookCacheDir, sessionOptions }
      return current.withUnet(sdxlUnetFromHooked(hooked, { kinds: next, config: current.unetConfig, split }))
    },
    release: async (old) => {
      await old.unet.session.release?.()
    },
  })
}

/** Fails early, pointing elsewhere, when the folder holds another kind of pipeline. */
async function checkSdxlFolder(dir: string): Promise<void> {
  const index = await loadModelIndex(dir)
  if (index.className !== undefined && !index.className.startsWith("StableDiffusionXL")) {
    throw new PipelineError(
      "WRONG_PIPELINE",
      `"${dir}" holds a ${index.className}, not an SDXL pipeline. Load it with DiffusionPipeline.fromPretrained` +
        `${index.className.startsWith("PixArt") ? " or PixArtSigmaPipeline.fromPretrained" : ""}.`,
    )
  }
}

/** The UNet `model.onnx` that `loadSdxl` loads for these options (a folder override may nest `unet/`). */
async function unetModelPath(dir: string, override: FromPretrainedOptions["unet"]): Promise<string | undefined> {
  if (override === undefined) return (await locateOnnxModel(dir, "unet")).modelPath
  if (typeof override !== "string") return undefined
  return (await locateOnnxModel(override, existsSync(path.join(override, "unet")) ? "unet" : "")).modelPath
}

/** ControlNets loaded together: every load settles before the first failure is reported, and what loaded is released. */
async function loadControlNets(value: FromPretrainedOptions["controlnet"], hub: HubLoadOptions): Promise<{ readonly list: ControlNet[]; release(): Promise<void> }> {
  const given = value === undefined ? [] : Array.isArray(value) ? (value as readonly (string | ControlNet)[]) : [value as string | ControlNet]
  const { subfolder: _s, ...shared } = hub // a subfolder names the base repository's folder, not the ControlNet's
  const list = await withLoadScope((scope) => scope.settle(given.map(async (c) => (typeof c === "string" ? loadControlNet(await modelFolder(c, shared)) : c))))
  return { list: [...list], release: async () => void (await Promise.all(list.map((c) => c.release()))) }
}

interface BuildOptions {
  readonly enablePag: boolean
  readonly pagAppliedLayers: readonly string[]
  readonly scheduler?: string | SchedulerConfig | undefined
  readonly layerMatching?: LayerMatching | undefined
  readonly schedulerConfig?: SchedulerConfig | undefined
  readonly controlnets: readonly ControlNet[]
  readonly hookCatalogue?: HookCatalogue | undefined
  readonly guidanceCatalogue?: GuidanceCatalogue | undefined
}

function build<T extends SdxlTask>(task: T, host: SdxlHost, options: BuildOptions): InstanceType<(typeof constructors)[T]> {
  const Pipeline = constructors[task]
  const pipe = new Pipeline({
    host,
    controlnets: options.controlnets,
    ...(options.schedulerConfig === undefined ? {} : { schedulerConfig: options.schedulerConfig }),
    ...(options.layerMatching === undefined ? {} : { layerMatching: options.layerMatching }),
    ...(options.hookCatalogue === undefined ? {} : { hookCatalogue: options.hookCatalogue }),
    ...(options.guidanceCatalogue === undefined ? {} : { guidanceCatalogue: options.guidanceCatalogue }),
    pagAppliedLayers: options.enablePag ? options.pagAppliedLayers : undefined,
  })
  if (options.scheduler !== undefined) pipe.setScheduler(options.scheduler)
  return pipe as InstanceType<(typeof constructors)[T]>
}

function autoPipeline<T extends SdxlTask>(task: T) {
  return {
    /**
     * Loads a diffusers ONNX folder (model_index.json, unet/, vae_decoder/, …) as this task's pipeline.
     * @example
     * const pipe = await AutoPipelineForText2Image.fromPretrained("models/sdxl", { enablePag: true, pagAppliedLayers: ["mid"] })
     */
    async fromPretrained(idOrDir: string, given: FromPretrainedOptions = {}): Promise<InstanceType<(typeof constructors)[T]>> {
      const dir = await modelFolder(idOrDir, given)
      const { subfolder: _s, ...hub } = given
      const unet = typeof given.unet === "string" ? await modelFolder(given.unet, hub) : given.unet
      const options = { ...withoutHubOptions(given), ...(unet === undefined ? {} : { unet }) }
      await checkSdxlFolder(dir)
      const unetPath = await unetModelPath(dir, options.unet)
      // both load at once; a failure of either is reported after both settled, and what loaded is released
      const [host, controlnetSet] = await withLoadScope((scope) => scope.settle([loadHost(dir, options, unetPath), loadControlNets(options.controlnet, given)]))
      const controlnets = controlnetSet.list
      return build(task, host, {
        enablePag: options.enablePag ?? false,
        pagAppliedLayers: layersOf(options.pagAppliedLayers),
        scheduler: options.scheduler,
        layerMatching: options.layerMatching,
        controlnets,
        hookCatalogue: [...kindsByName(options.hookCatalogue, options.hooks).values()],
        guidanceCatalogue: options.guidanceCatalogue,
      })
    },
    /**
     * This task's pipeline over the very same sessions as `pipe` (no weights loaded again), as diffusers'
     * `AutoPipelineFor….from_pipe(pipe, enable_pag=…)`.
     * @example
     * const inpaint = AutoPipelineForInpainting.fromPipe(text2image, { enablePag: true })
     */
    fromPipe(pipe: AnySdxlPipeline, options: FromPipeOptions = {}): InstanceType<(typeof constructors)[T]> {
      const enablePag = options.enablePag ?? pipe.pagAppliedLayers !== undefined
      return build(task, pipe.host, {
        enablePag,
        pagAppliedLayers: options.pagAppliedLayers === undefined ? (pipe.pagAppliedLayers ?? ["mid"]) : layersOf(options.pagAppliedLayers),
        schedulerConfig: pipe.schedulerConfig,
        scheduler: options.scheduler,
        layerMatching: options.layerMatching ?? pipe.layerMatching,
        controlnets: options.controlnet ?? pipe.controlnets,
        hookCatalogue: [...pipe.hookCatalogue.values()],
        guidanceCatalogue: pipe.guidanceCatalogue,
      })
    },
  }
}

/**
 * Text-to-image pipelines by folder or from another pipeline (diffusers' `AutoPipelineForText2Image`).
 * @namespace
 */
export const AutoPipelineForText2Image = autoPipeline("text2image")
/**
 * Image-to-image pipelines (diffusers' `AutoPipelineForImage2Image`).
 * @namespace
 */
export const AutoPipelineForImage2Image = autoPipeline("image2image")
/**
 * Inpainting pipelines (diffusers' `AutoPipelineForInpainting`).
 * @namespace
 */
export const AutoPipelineForInpainting = autoPipeline("inpainting")
