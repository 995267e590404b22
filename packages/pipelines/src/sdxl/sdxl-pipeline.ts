import type { PlannedPass, StepContext } from "@pagkit/guidance"
import { createScheduler, schedulerFromConfig } from "@pagkit/schedulers"
import type { Scheduler, SchedulerConfig } from "@pagkit/schedulers"
import { TorchGenerator, concat } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import type { SdxlModel } from "@pagkit/models-sdxl"
import { loadIpAdapter, loadIpAdapterUnet } from "@pagkit/ip-adapter"
import type { IpAdapterScaleInput, LoadIpAdapterOptions } from "@pagkit/ip-adapter"
import { residualInputMap, unetResidualInputs } from "@pagkit/controlnet"
import type { ControlNet } from "@pagkit/controlnet"
import { hookedDenoiserOptions } from "@pagkit/models-core"
import { SdxlUnet } from "@pagkit/models-sdxl"
import { identityAttention } from "@pagkit/onnx"
import { runDenoisingLoop } from "../denoising-loop.js"
import { randomSeed } from "../random-seed.js"
import { InvalidOptionError, PipelineError } from "../errors.js"
import { guidanceFromOptions, usesUncond } from "../guidance-options.js"
import { LayerResolver } from "../layer-resolver.js"
import type { LayerMatching } from "../layer-resolver.js"
import { PipelineOutput } from "../output.js"
import { gatherRows } from "../row-inputs.js"
import type { RowSource } from "../row-inputs.js"
import { checkKnownOptions, checkNumber, controlNetOptionNames, ipAdapterOptionNames, knownOptions } from "./sdxl-options.js"
import type { SdxlCallOptions } from "./sdxl-options.js"
import { textConditioning } from "./text-conditioning.js"
import { controlNetExtras, ipAdapterExtras, prepareControlImages } from "./unet-extras.js"
import type { ControlNetCallOptions, IpAdapterCallOptions, LoadedIpAdapter, UnetExtras } from "./unet-extras.js"

/** The three SDXL tasks. */
export type SdxlTask = keyof typeof knownOptions

/** What a pipeline is made of; `fromPipe` shares `model` (every session) between pipelines. */
export interface SdxlPipelineInit {
  readonly model: SdxlModel
  /** Default: the folder's `scheduler/scheduler_config.json`. */
  readonly schedulerConfig?: SchedulerConfig
  /** PAG layer patterns; undefined for a pipeline without PAG. */
  readonly pagAppliedLayers?: readonly string[] | undefined
  /** How layer patterns are read (default `"diffusers"`). */
  readonly layerMatching?: LayerMatching
  /** The UNet's `model.onnx`, for adapters that rewrite the graph again (IP-Adapter). */
  readonly unetPath?: string | undefined
  /** A loaded IP-Adapter (its hooked UNet is `model.unet`). */
  readonly ipAdapter?: LoadedIpAdapter | undefined
  /** ControlNets; `model.unet` must take residual inputs. */
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
export abstract class SdxlPipeline<O extends SdxlCallOptions> {
  abstract readonly task: SdxlTask
  /** CFG scale when the call gives none (diffusers: 5, inpainting 7.5). */
  protected readonly defaultGuidanceScale: number = 5
  /** Scheduler config; each call builds a fresh scheduler from it. */
  schedulerConfig: SchedulerConfig
  readonly layerResolver: LayerResolver | undefined
  /** The UNet's `model.onnx` (undefined when the pipeline was built from a ready model). */
  readonly unetPath: string | undefined
  /** ControlNets of this pipeline (empty for plain pipelines). */
  readonly controlnets: readonly ControlNet[]
  #model: SdxlModel
  #ipAdapter: LoadedIpAdapter | undefined
  #pagLayers: readonly string[] | undefined

  constructor(init: SdxlPipelineInit) {
    this.#model = init.model
    this.unetPath = init.unetPath
    this.controlnets = init.controlnets ?? []
    // fails now, naming the UNet's inputs, when the UNet takes no ControlNet residuals
    for (const controlnet of this.controlnets) residualInputMap(init.model.unet.session, controlnet)
    if (this.controlnets.length === 0 && unetResidualInputs(init.model.unet.session) !== undefined) {
      throw new PipelineError(
        "CONTROLNET_REQUIRED",
        `this UNet takes ControlNet residual inputs (${unetResidualInputs(init.model.unet.session)!.join(", ")}), so it needs a ControlNet: pass { controlnet }, or load the folder's plain UNet.`,
      )
    }
    this.#ipAdapter = init.ipAdapter
    this.schedulerConfig = init.schedulerConfig ?? init.model.schedulerConfig
    const index = init.model.unet.layerIndex
    this.layerResolver = index === undefined ? undefined : new LayerResolver(index, init.layerMatching ?? "diffusers")
    this.#pagLayers = undefined
    if (init.pagAppliedLayers !== undefined) this.setPagAppliedLayers(init.pagAppliedLayers)
  }

  /** The loaded model (sessions shared with pipelines made by `fromPipe`). */
  get model(): SdxlModel {
    return this.#model
  }

  /** The loaded IP-Adapter, if any. */
  get ipAdapter(): LoadedIpAdapter | undefined {
    return this.#ipAdapter
  }

  /** diffusers' class for this task, ControlNet and PAG setting (e.g. `StableDiffusionXLPAGPipeline`). */
  get className(): string {
    return diffusersClassName(this.task, this.controlnets.length > 0, this.#pagLayers !== undefined)
  }

  /** Option names this pipeline's calls take. */
  get acceptedOptions(): ReadonlySet<string> {
    const names = new Set(knownOptions[this.task])
    if (this.#ipAdapter !== undefined) for (const n of ipAdapterOptionNames) names.add(n)
    if (this.controlnets.length > 0) for (const n of [...controlNetOptionNames, controlImageOption(this.task)]) names.add(n)
    return names
  }

  /**
   * Loads an IP-Adapter (diffusers' `load_ip_adapter`): the UNet graph is rewritten with the decoupled
   * cross-attention hook (PAG's hook kept), weights from the safetensors become graph initializers. The scale
   * starts at 1.0, as in diffusers. Pipelines made from this one with `fromPipe` afterwards share it.
   * @example
   * await pipe.loadIpAdapter({ weights: "ip-adapter.safetensors", imageEncoder: "image_encoder" })
   * pipe.setIpAdapterScale(0.8)
   */
  async loadIpAdapter(options: LoadIpAdapterOptions): Promise<void> {
    if (this.unetPath === undefined) {
      throw new PipelineError("NO_UNET_PATH", "this pipeline was built from a model without its UNet file path; load it with fromPretrained to add an IP-Adapter.")
    }
    const adapter = await loadIpAdapter(options)
    const unet = await loadIpAdapterUnet(this.unetPath, adapter, { hooks: [identityAttention()] })
    this.#model = this.#model.withUnet(new SdxlUnet(hookedDenoiserOptions(unet.model)))
    this.#ipAdapter = { adapter, unet }
  }

  /** diffusers' `set_ip_adapter_scale`: one number, or a per-block map (`{ down: { block_2: [0, 1] }, mid: 1 }`). */
  setIpAdapterScale(scale: IpAdapterScaleInput): void {
    if (this.#ipAdapter === undefined) throw new PipelineError("NO_IP_ADAPTER", "no IP-Adapter is loaded; call loadIpAdapter first.")
    this.#ipAdapter.unet.setIpAdapterScale(scale)
  }

  /** diffusers' `unload_ip_adapter`: back to the UNet graph with only PAG's hook. */
  async unloadIpAdapter(): Promise<void> {
    if (this.#ipAdapter === undefined) return
    const plain = await this.#ipAdapter.unet.unloadIpAdapter()
    await this.#ipAdapter.adapter.release()
    this.#model = this.#model.withUnet(new SdxlUnet(hookedDenoiserOptions(plain)))
    this.#ipAdapter = undefined
  }

  /** PAG layer patterns, or undefined when PAG is not enabled. */
  get pagAppliedLayers(): readonly string[] | undefined {
    return this.#pagLayers
  }

  /** Module paths the PAG patterns select (empty without PAG). */
  get pagLayersResolved(): readonly string[] {
    return this.#pagLayers === undefined || this.layerResolver === undefined ? [] : this.layerResolver.resolve(this.#pagLayers)
  }

  /**
   * Changes the PAG layers; takes effect on the next call. Only gate values change: no session is rebuilt.
   * @example
   * pipe.setPagAppliedLayers(["down.block_2", "up.block_1.attentions_0"])
   */
  setPagAppliedLayers(layers: string | readonly string[]): void {
    const list = typeof layers === "string" ? [layers] : [...layers]
    if (!this.model.unet.hookKinds.includes("identity-attention") || this.layerResolver === undefined) {
      throw new PipelineError(
        "PAG_NOT_INSTALLED",
        `this pipeline's UNet has no identity-attention hook, so PAG layers cannot be set. Load it with { enablePag: true }.`,
      )
    }
    this.layerResolver.resolve(list) // fails now, listing valid layers, if a pattern matches nothing
    this.#pagLayers = list
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

  /** Builds this task's latents and timesteps. */
  protected abstract prepare(options: O, ctx: PrepareContext): Promise<PreparedRun>

  /** Runs the pipeline. */
  async run(options: O): Promise<PipelineOutput> {
    checkKnownOptions(options, this.acceptedOptions, this.className)
    checkNumber("numInferenceSteps", options.numInferenceSteps, { min: 1, integer: true })
    checkNumber("numImagesPerPrompt", options.numImagesPerPrompt, { min: 1, integer: true })
    checkNumber("guidanceScale", options.guidanceScale, { min: 0 })
    checkNumber("guidanceRescale", options.guidanceRescale, { min: 0, max: 1 })
    checkNumber("pagScale", options.pagScale, { min: 0 })
    checkNumber("pagAdaptiveScale", options.pagAdaptiveScale, { min: 0 })
    checkNumber("denoisingEnd", options.denoisingEnd, { min: 0, max: 1, minExclusive: true })
    const chain = guidanceFromOptions(options, { guidanceScale: this.defaultGuidanceScale, pagLayers: this.#pagLayers })
    for (const hook of chain.hooks) {
      if (!this.model.unet.hookKinds.includes(hook.kind) || this.layerResolver === undefined) {
        throw new PipelineError("HOOK_NOT_INSTALLED", `guidance "${hook.branch}" needs the "${hook.kind}" hook, which this UNet lacks. Load the pipeline with { enablePag: true }.`)
      }
      this.layerResolver.resolve(hook.layers)
    }
    const numImages = options.numImagesPerPrompt ?? 1
    const batchSize = batchOf(options) * numImages
    const seed = options.generator === undefined ? (options.seed ?? randomSeed()) : undefined
    const generator = options.generator ?? new TorchGenerator(seed!)
    const scheduler = createScheduler(this.schedulerConfig)
    const numInferenceSteps = options.timesteps?.length ?? options.sigmas?.length ?? options.numInferenceSteps ?? 50
    const controlImages = await this.#controlImages(options, batchSize, numImages)
    const impliedSize =
      controlImages[0] === undefined ? undefined : { height: controlImages[0].shape[2]!, width: controlImages[0].shape[3]! }
    const prepared = await this.prepare(options, { scheduler, generator, batchSize, numInferenceSteps, impliedSize })
    const doCfg = usesUncond(chain, prepared.timesteps)
    const extras = await this.#extras(options, controlImages, { doCfg, batchSize })
    const text = await this.model.encodePrompt({
      prompt: options.prompt, prompt2: options.prompt2, negativePrompt: options.negativePrompt,
      negativePrompt2: options.negativePrompt2, numImagesPerPrompt: numImages, doCfg,
      promptEmbeds: options.promptEmbeds, pooledPromptEmbeds: options.pooledPromptEmbeds,
      negativePromptEmbeds: options.negativePromptEmbeds, negativePooledPromptEmbeds: options.negativePooledPromptEmbeds,
      clipSkip: options.clipSkip,
    })
    const sources = textConditioning(this.model, { options, prepared, text, batchSize })
    const usedPatterns = new Map<string, readonly string[]>() // hook patterns some row used, for warnings
    const latents = await runDenoisingLoop({
      scheduler,
      chain,
      timesteps: prepared.timesteps,
      latents: prepared.latents,
      generator,
      ...(options.eta === undefined ? {} : { eta: options.eta }),
      ...(options.passes === undefined ? {} : { passes: options.passes }),
      denoise: (pass, modelInput, ctx) => {
        for (const row of pass.rows) for (const patterns of Object.values(row.hooks)) usedPatterns.set(JSON.stringify(patterns), patterns)
        return this.#denoise(pass, modelInput, ctx, { ...sources, ...extras.rowSources }, prepared, extras)
      },
      ...(prepared.afterStep === undefined ? {} : { afterStep: prepared.afterStep }),
      ...(options.onStep === undefined ? {} : { onStep: options.onStep }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    })
    const notes = [...usedPatterns.values()].flatMap((patterns) => this.layerResolver?.notes(patterns) ?? [])
    const warnings = [...text.warnings, ...notes]
    if (options.outputType === "latent") return new PipelineOutput({ images: undefined, latents, seed, warnings })
    if (options.signal?.aborted === true) throw new PipelineError("ABORTED", "the run was aborted before decoding.")
    let images = await this.model.vae.decode(latents)
    if (prepared.finishImages !== undefined) images = await prepared.finishImages(images)
    return new PipelineOutput({ images, latents, seed, warnings })
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

  async #extras(options: O, controlImages: readonly Tensor<"float32">[], run: { doCfg: boolean; batchSize: number }): Promise<UnetExtras> {
    const ip = this.#ipAdapter === undefined ? undefined : await ipAdapterExtras(this.#ipAdapter, options as IpAdapterCallOptions, run)
    const control =
      this.controlnets.length === 0
        ? undefined
        : controlNetExtras(this.model.unet.session, this.controlnets, controlImages, options as ControlNetCallOptions)
    return { rowSources: ip?.rowSources ?? {}, shared: ip?.shared ?? {}, ...(control ?? {}) }
  }

  async #denoise(
    pass: PlannedPass,
    modelInput: Tensor<"float32">,
    ctx: StepContext,
    sources: Record<string, RowSource>,
    prepared: PreparedRun,
    extras: UnetExtras,
  ): Promise<Tensor<"float32">> {
    const inputs = gatherRows(pass, { ...sources, sample: modelInput })
    const extra: Record<string, Tensor> = {}
    for (const name of Object.keys(extras.rowSources)) extra[name] = inputs[name]!
    if (extras.perPass !== undefined) Object.assign(extra, await extras.perPass(pass, inputs, ctx))
    const sample =
      prepared.sampleExtras === undefined
        ? (inputs["sample"] as Tensor<"float32">)
        : (gatherRows(pass, { sample: concat([modelInput, prepared.sampleExtras], 1) })["sample"] as Tensor<"float32">)
    const resolver = this.layerResolver
    return this.model.unet.denoise({
      sample,
      timestep: ctx.timestep,
      encoderHiddenStates: inputs["encoder_hidden_states"] as Tensor<"float32">,
      textEmbeds: inputs["text_embeds"] as Tensor<"float32">,
      timeIds: inputs["time_ids"] as Tensor<"float32">,
      hooks: pass.rows.map((row) => resolver?.rowHooks(row.hooks)),
      extra,
      shared: extras.shared,
    })
  }
}
