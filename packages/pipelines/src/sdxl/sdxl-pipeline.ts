import type { PlannedPass, StepContext } from "@pagkit/guidance"
import { createScheduler, schedulerFromConfig } from "@pagkit/schedulers"
import type { Scheduler, SchedulerConfig } from "@pagkit/schedulers"
import { TorchGenerator, concat } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import type { SdxlModel } from "@pagkit/models-sdxl"
import { IP_ADAPTER_KIND, ipAdapterHook, loadIpAdapterUnet, loadIpAdapters } from "@pagkit/ip-adapter"
import type { IpAdapterScaleInput } from "@pagkit/ip-adapter"
import { residualInputMap, unetResidualInputs } from "@pagkit/controlnet"
import type { ControlNet } from "@pagkit/controlnet"
import type { HookableDenoiser, RowHooks } from "@pagkit/models-core"
import { sdxlUnetFromHooked } from "@pagkit/models-sdxl"
import { InvalidOptionError, PipelineError } from "../errors.js"
import { usesUncond } from "../guidance-options.js"
import { PipelineOutput } from "../output.js"
import { gatherRows } from "../row-inputs.js"
import type { RowSource } from "../row-inputs.js"
import { PipelineCore } from "../core/pipeline-core.js"
import type { CoreInit, FamilyRun, OutputParts, RunContext } from "../core/pipeline-core.js"
import { ModelHost } from "../core/model-host.js"
import { checkKnownOptions, checkNumber, controlNetOptionNames, ipAdapterOptionNames, knownOptions } from "./sdxl-options.js"
import type { SdxlCallOptions } from "./sdxl-options.js"
import { textConditioning } from "./text-conditioning.js"
import { controlNetExtras, ipAdapterExtras, prepareControlImages } from "./unet-extras.js"
import type { ControlNetCallOptions, IpAdapterCallOptions, IpAdapterLoadOptions, LoadedIpAdapter, UnetExtras } from "./unet-extras.js"

function requireModel(model: SdxlModel | undefined): SdxlModel {
  if (model === undefined) throw new InvalidOptionError("an SDXL pipeline needs { host } or { model }.")
  return model
}

/** The three SDXL tasks. */
export type SdxlTask = keyof typeof knownOptions

/**
 * The SDXL model host: the loaded model, its UNet's hook kinds and the loaded IP-Adapter, shared by every pipeline
 * made from one another with `fromPipe` (loading an IP-Adapter changes the shared UNet, as in diffusers).
 */
export class SdxlHost extends ModelHost<SdxlModel> {
  /** The loaded IP-Adapter (its kind is among {@link kinds}), if any. */
  ipAdapter: LoadedIpAdapter | undefined
  /** The UNet's `model.onnx`, for rewriting the graph again (hook kinds, IP-Adapter); undefined for ready sessions. */
  readonly unetPath: string | undefined

  constructor(init: ConstructorParameters<typeof ModelHost<SdxlModel>>[0] & { readonly unetPath?: string | undefined; readonly ipAdapter?: LoadedIpAdapter | undefined }) {
    super(init)
    this.unetPath = init.unetPath
    this.ipAdapter = init.ipAdapter
  }

  /** Frees the model's sessions and the IP-Adapter's. */
  async release(): Promise<void> {
    await Promise.all([this.model.release(), this.ipAdapter?.adapter.release()])
  }
}

/** What a pipeline is made of; `fromPipe` shares the host (every session) between pipelines. */
export interface SdxlPipelineInit extends Omit<CoreInit<SdxlModel>, "host"> {
  /** The model host (shared with `fromPipe`); or give `model` for a pipeline over ready sessions. */
  readonly host?: SdxlHost
  readonly model?: SdxlModel
  /** Default: the folder's `scheduler/scheduler_config.json`. */
  readonly schedulerConfig?: SchedulerConfig
  /** ControlNets; the UNet must take residual inputs. */
  readonly controlnets?: readonly ControlNet[] | undefined
}

/** What a task's preparation hands to the shared loop. */
export interface PreparedRun {
  readonly latents: Tensor<"float32">
  /** Timesteps to run (the scheduler is set up already). */
  readonly timesteps: readonly number[]
  readonly height: number
  readonly width: number
  /** Which diffusers rules build the negative time ids. */
  readonly timeIdsRules: "text2img" | "img2img"
  /** Channels concatenated to the UNet sample per image (9-channel inpainting UNets): `[B, k, h, w]`. */
  readonly sampleExtras?: Tensor<"float32">
  readonly afterStep?: (latents: Tensor<"float32">, ctx: StepContext) => Tensor<"float32">
  /** Post-processing of decoded images (inpainting's `padding_mask_crop` paste-back). */
  readonly finishImages?: (images: Tensor<"float32">) => Promise<Tensor<"float32">>
}

/** Context a task's `prepare` gets. */
export interface PrepareContext {
  readonly scheduler: Scheduler
  readonly generator: TorchGenerator
  /** `batch_size · num_images_per_prompt`. */
  readonly batchSize: number
  readonly numInferenceSteps: number
  /** Output size implied by other inputs (the control image of a ControlNet text-to-image run). */
  readonly impliedSize?: { readonly height: number; readonly width: number } | undefined
}

const taskNames: Record<SdxlTask, string> = { text2image: "", image2image: "Img2Img", inpainting: "Inpaint" }

/** diffusers' class name for a task with or without ControlNet and PAG. */
function diffusersClassName(task: SdxlTask, controlnet: boolean, pag: boolean): string {
  return `StableDiffusionXL${controlnet ? "ControlNet" : ""}${pag ? "PAG" : ""}${taskNames[task]}Pipeline`
}

/** The option naming the control image: `image` for text-to-image, `controlImage` when `image` is the init image. */
function controlImageOption(task: SdxlTask): "image" | "controlImage" {
  return task === "text2image" ? "image" : "controlImage"
}

function batchOf(options: SdxlCallOptions): number {
  if (options.prompt !== undefined) return typeof options.prompt === "string" ? 1 : options.prompt.length
  if (options.promptEmbeds !== undefined) return options.promptEmbeds.shape[0]!
  throw new InvalidOptionError(`pass a prompt (or promptEmbeds with pooledPromptEmbeds).`)
}

/**
 * What the SDXL text-to-image, image-to-image and inpainting pipelines share: prompt encoding, guidance, the step
 * loop over the (hooked) UNet, decoding. A task supplies its latents and timesteps.
 */
export abstract class SdxlPipeline<O extends SdxlCallOptions> extends PipelineCore<O, SdxlModel, PipelineOutput> {
  abstract readonly task: SdxlTask
  /** Scheduler config; each call builds a fresh scheduler from it. */
  schedulerConfig: SchedulerConfig
  /** ControlNets of this pipeline (empty for plain pipelines). */
  readonly controlnets: readonly ControlNet[]
  declare readonly host: SdxlHost

  constructor(init: SdxlPipelineInit) {
    const host = init.host ?? new SdxlHost({ model: requireModel(init.model), kinds: [] })
    super({ ...init, host })
    const model = host.model
    this.controlnets = init.controlnets ?? []
    // fails now, naming the UNet's inputs, when the UNet takes no ControlNet residuals
    for (const controlnet of this.controlnets) residualInputMap(model.unet.session, controlnet)
    if (this.controlnets.length === 0 && unetResidualInputs(model.unet.session) !== undefined) {
      throw new PipelineError(
        "CONTROLNET_REQUIRED",
        `this UNet takes ControlNet residual inputs (${unetResidualInputs(model.unet.session)!.join(", ")}), so it needs a ControlNet: pass { controlnet }, or load the folder's plain UNet.`,
      )
    }
    this.schedulerConfig = init.schedulerConfig ?? model.schedulerConfig
    if (init.pagAppliedLayers !== undefined) this.setPagAppliedLayers(init.pagAppliedLayers)
  }

  /** CFG scale when the call gives none (diffusers: 5, inpainting 7.5). */
  protected get defaultGuidanceScale(): number {
    return 5
  }

  protected denoiserOf(model: SdxlModel): HookableDenoiser {
    return model.unet
  }

  /** The UNet's `model.onnx` (undefined when the pipeline was built from a ready model). */
  get unetPath(): string | undefined {
    return this.host.unetPath
  }

  /** The loaded IP-Adapter, if any. */
  get ipAdapter(): LoadedIpAdapter | undefined {
    return this.host.ipAdapter
  }

  /** diffusers' class for this task, ControlNet and PAG setting (e.g. `StableDiffusionXLPAGPipeline`). */
  get className(): string {
    return diffusersClassName(this.task, this.controlnets.length > 0, this.pagAppliedLayers !== undefined)
  }

  /** Option names this pipeline's calls take. */
  get acceptedOptions(): ReadonlySet<string> {
    const names = new Set(knownOptions[this.task])
    if (this.ipAdapter !== undefined) for (const n of ipAdapterOptionNames) names.add(n)
    if (this.controlnets.length > 0) for (const n of [...controlNetOptionNames, controlImageOption(this.task)]) names.add(n)
    return names
  }

  /**
   * Loads one or several IP-Adapters (diffusers' `load_ip_adapter`, `weight_name` a name or a list): the UNet graph
   * is rewritten once with every adapter's decoupled cross-attention (the other hook kinds kept; weights become
   * graph initializers; mask inputs included, fed "no mask" unless a call passes `ipAdapterMasks`). The adapters share
   * the image encoder. Scales start at 1.0, as in diffusers. Every pipeline sharing this one's model (`fromPipe`) gets
   * them, as in diffusers. Loading again replaces the loaded adapters.
   * @example
   * await pipe.loadIpAdapter({ weights: "sdxl_models/ip-adapter-plus_sdxl_vit-h.bin", imageEncoder: "models/image_encoder" })
   * pipe.setIpAdapterScale(0.8)
   * await pipe.loadIpAdapter({ weights: [plusFile, baseFile], imageEncoder: "models/image_encoder" })
   * pipe.setIpAdapterScale([0.7, { up: { block_0: [0, 1, 0] } }]) // one scale per adapter
   */
  async loadIpAdapter(options: IpAdapterLoadOptions): Promise<void> {
    const unetPath = this.host.unetPath
    if (unetPath === undefined) {
      throw new PipelineError("NO_UNET_PATH", "this pipeline was built from a model without its UNet file path; load it with fromPretrained to add an IP-Adapter.")
    }
    const weights: readonly string[] = typeof options.weights === "string" ? [options.weights] : options.weights
    if (!Array.isArray(weights) || weights.length === 0 || weights.some((w) => typeof w !== "string")) {
      throw new InvalidOptionError(`loadIpAdapter: weights must be a file path or a non-empty list of file paths, found ${JSON.stringify(options.weights)}.`)
    }
    if (this.host.ipAdapter !== undefined) await this.unloadIpAdapter()
    const adapters = await loadIpAdapters({ ...options, weights })
    const others = this.host.kinds.filter((k) => k.name !== IP_ADAPTER_KIND)
    const hook = ipAdapterHook(adapters, { masks: true })
    const unet = await loadIpAdapterUnet(unetPath, adapters, { hooks: others, masks: true })
    const old = this.host.model
    this.host.replace(old.withUnet(sdxlUnetFromHooked(unet.model, { kinds: [...others, hook], config: old.unetConfig })), [...others, hook])
    this.host.ipAdapter = { adapter: adapters[0]!, adapters, unet }
    await old.unet.session.release?.()
  }

  /**
   * diffusers' `set_ip_adapter_scale`: one scale per loaded adapter (a list when several are loaded), each a number
   * or a per-block map (`{ down: { block_2: [0, 1] }, mid: 1 }`).
   */
  setIpAdapterScale(scale: IpAdapterScaleInput | readonly IpAdapterScaleInput[]): void {
    if (this.host.ipAdapter === undefined) throw new PipelineError("NO_IP_ADAPTER", "no IP-Adapter is loaded; call loadIpAdapter first.")
    this.host.ipAdapter.unet.setIpAdapterScale(scale)
  }

  /** diffusers' `unload_ip_adapter`: back to the UNet graph with only the other hook kinds. */
  async unloadIpAdapter(): Promise<void> {
    const loaded = this.host.ipAdapter
    if (loaded === undefined) return
    this.host.ipAdapter = undefined
    await this.host.setKinds(this.host.kinds.filter((k) => k.name !== IP_ADAPTER_KIND))
    await Promise.all(loaded.adapters.map((a) => a.release()))
  }

  /**
   * Switches the scheduler: a class name (diffusers' `NewClass.from_config(pipe.scheduler.config)`, keeping this
   * model's betas and spacing), a scheduler (its config), or a whole config.
   * @example
   * pipe.setScheduler("DPMSolverMultistepScheduler")
   */
  setScheduler(scheduler: string | Scheduler | SchedulerConfig): void {
    const built =
      typeof scheduler === "string"
        ? schedulerFromConfig(this.schedulerConfig, { _class_name: scheduler })
        : typeof (scheduler as Scheduler).setTimesteps === "function"
          ? (scheduler as Scheduler)
          : createScheduler(scheduler as SchedulerConfig) // validates now
    this.schedulerConfig = { ...built.config, _class_name: built.className }
  }

  /** Clears PAG (`fromPipe(…, { enablePag: false })`). */
  withoutPag(): this {
    this.disablePag()
    return this
  }

  /** Builds this task's latents and timesteps. */
  protected abstract prepare(options: O, ctx: PrepareContext): Promise<PreparedRun>

  protected checkCall(options: O): void {
    checkKnownOptions(options, this.acceptedOptions, this.className)
    checkNumber("numInferenceSteps", options.numInferenceSteps, { min: 1, integer: true })
    checkNumber("numImagesPerPrompt", options.numImagesPerPrompt, { min: 1, integer: true })
    checkNumber("guidanceScale", options.guidanceScale, { min: 0 })
    checkNumber("guidanceRescale", options.guidanceRescale, { min: 0, max: 1 })
    checkNumber("pagScale", options.pagScale, { min: 0 })
    checkNumber("pagAdaptiveScale", options.pagAdaptiveScale, { min: 0 })
    checkNumber("denoisingEnd", options.denoisingEnd, { min: 0, max: 1, minExclusive: true })
  }

  protected makeOutput(parts: OutputParts): PipelineOutput {
    return new PipelineOutput(parts)
  }

  protected async prepareRun(options: O, run: RunContext): Promise<FamilyRun> {
    const { chain } = run
    const generator = run.generator as TorchGenerator
    const numImages = options.numImagesPerPrompt ?? 1
    const batchSize = batchOf(options) * numImages
    const scheduler = createScheduler(this.schedulerConfig)
    const numInferenceSteps = options.timesteps?.length ?? options.sigmas?.length ?? options.numInferenceSteps ?? 50
    const controlImages = await this.#controlImages(options, batchSize, numImages)
    const impliedSize =
      controlImages[0] === undefined ? undefined : { height: controlImages[0].shape[2]!, width: controlImages[0].shape[3]! }
    const prepared = await this.prepare(options, { scheduler, generator, batchSize, numInferenceSteps, impliedSize })
    const doCfg = usesUncond(chain, prepared.timesteps)
    const extras = await this.#extras(options, controlImages, {
      doCfg, batchSize, latentShape: prepared.latents.shape, height: prepared.height, width: prepared.width, vaeScaleFactor: this.model.vaeScaleFactor,
    })
    const model = this.model
    const text = await model.encodePrompt({
      prompt: options.prompt, prompt2: options.prompt2, negativePrompt: options.negativePrompt,
      negativePrompt2: options.negativePrompt2, numImagesPerPrompt: numImages, doCfg,
      promptEmbeds: options.promptEmbeds, pooledPromptEmbeds: options.pooledPromptEmbeds,
      negativePromptEmbeds: options.negativePromptEmbeds, negativePooledPromptEmbeds: options.negativePooledPromptEmbeds,
      clipSkip: options.clipSkip,
    })
    const sources = { ...textConditioning(model, { options, prepared, text, batchSize }), ...extras.rowSources }
    return {
      scheduler,
      timesteps: prepared.timesteps,
      latents: prepared.latents,
      generator,
      batchSize,
      warnings: text.warnings,
      denoise: (pass, modelInput, ctx, hooks) => this.#denoise(model, { pass, modelInput, ctx, hooks }, sources, prepared, extras),
      ...(prepared.afterStep === undefined ? {} : { afterStep: prepared.afterStep }),
      decode: async (latents) => {
        const images = await model.vae.decode(latents)
        return prepared.finishImages === undefined ? images : prepared.finishImages(images)
      },
    }
  }

  async #controlImages(options: O, batchSize: number, numImages: number): Promise<Tensor<"float32">[]> {
    if (this.controlnets.length === 0) return []
    const name = controlImageOption(this.task)
    const given = (options as Record<string, unknown>)[name] as Parameters<typeof prepareControlImages>[0] | undefined
    if (given === undefined) throw new InvalidOptionError(`${this.className} needs ${name}: the control image of each ControlNet.`)
    const o = options as O & { height?: number; width?: number }
    return prepareControlImages(given, this.controlnets, {
      height: o.height, width: o.width, vaeScaleFactor: this.model.vaeScaleFactor, batchSize, numImagesPerPrompt: numImages,
    })
  }

  async #extras(options: O, controlImages: readonly Tensor<"float32">[], run: Parameters<typeof ipAdapterExtras>[2]): Promise<UnetExtras> {
    const ip = this.ipAdapter === undefined ? undefined : await ipAdapterExtras(this.ipAdapter, options as IpAdapterCallOptions, run)
    const control =
      this.controlnets.length === 0
        ? undefined
        : controlNetExtras(this.model.unet.session, this.controlnets, controlImages, options as ControlNetCallOptions)
    return { rowSources: ip?.rowSources ?? {}, shared: ip?.shared ?? {}, ...(control ?? {}) }
  }

  async #denoise(
    model: SdxlModel,
    step: { readonly pass: PlannedPass; readonly modelInput: Tensor<"float32">; readonly ctx: StepContext; readonly hooks: readonly (RowHooks | undefined)[] },
    sources: Record<string, RowSource>,
    prepared: PreparedRun,
    extras: UnetExtras,
  ): Promise<Tensor<"float32">> {
    const { pass, modelInput, ctx, hooks } = step
    const inputs = gatherRows(pass, { ...sources, sample: modelInput })
    const extra: Record<string, Tensor> = {}
    for (const name of Object.keys(extras.rowSources)) extra[name] = inputs[name]!
    if (extras.perPass !== undefined) Object.assign(extra, await extras.perPass(pass, inputs, ctx))
    const sample =
      prepared.sampleExtras === undefined
        ? (inputs["sample"] as Tensor<"float32">)
        : (gatherRows(pass, { sample: concat([modelInput, prepared.sampleExtras], 1) })["sample"] as Tensor<"float32">)
    return model.unet.denoise({
      sample,
      timestep: ctx.timestep,
      encoderHiddenStates: inputs["encoder_hidden_states"] as Tensor<"float32">,
      textEmbeds: inputs["text_embeds"] as Tensor<"float32">,
      timeIds: inputs["time_ids"] as Tensor<"float32">,
      hooks,
      extra,
      shared: extras.shared,
    })
  }
}
