import type { PlannedPass, StepContext } from "@pagkit/guidance"
import { createScheduler } from "@pagkit/schedulers"
import type { Scheduler, SchedulerConfig } from "@pagkit/schedulers"
import { TorchGenerator, concat, tile } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import type { SdxlModel, SdxlPromptEmbeds, TimeIdsOptions } from "@pagkit/models-sdxl"
import { timeIdsTensor } from "@pagkit/models-sdxl"
import { runDenoisingLoop } from "../denoising-loop.js"
import { InvalidOptionError, PipelineError } from "../errors.js"
import { guidanceFromOptions, usesUncond } from "../guidance-options.js"
import { LayerResolver } from "../layer-resolver.js"
import type { LayerMatching } from "../layer-resolver.js"
import { PipelineOutput } from "../output.js"
import { gatherRows } from "../row-inputs.js"
import type { RowSource } from "../row-inputs.js"
import { checkKnownOptions, checkNumber } from "./sdxl-options.js"
import type { SdxlCallOptions, knownOptions } from "./sdxl-options.js"

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
}

const diffusersNames: Record<SdxlTask, [plain: string, pag: string]> = {
  text2image: ["StableDiffusionXLPipeline", "StableDiffusionXLPAGPipeline"],
  image2image: ["StableDiffusionXLImg2ImgPipeline", "StableDiffusionXLPAGImg2ImgPipeline"],
  inpainting: ["StableDiffusionXLInpaintPipeline", "StableDiffusionXLPAGInpaintPipeline"],
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
  readonly model: SdxlModel
  /** Scheduler config; each call builds a fresh scheduler from it. */
  schedulerConfig: SchedulerConfig
  readonly layerResolver: LayerResolver | undefined
  #pagLayers: readonly string[] | undefined

  constructor(init: SdxlPipelineInit) {
    this.model = init.model
    this.schedulerConfig = init.schedulerConfig ?? init.model.schedulerConfig
    const index = init.model.unet.layerIndex
    this.layerResolver = index === undefined ? undefined : new LayerResolver(index, init.layerMatching ?? "diffusers")
    this.#pagLayers = undefined
    if (init.pagAppliedLayers !== undefined) this.setPagAppliedLayers(init.pagAppliedLayers)
  }

  /** diffusers' class for this task and PAG setting (e.g. `StableDiffusionXLPAGPipeline`). */
  get className(): string {
    return diffusersNames[this.task][this.#pagLayers === undefined ? 0 : 1]
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

  /** Switches the scheduler by class name or config (diffusers' `from_config`), keeping this model's betas. */
  setScheduler(scheduler: string | SchedulerConfig): void {
    const config = typeof scheduler === "string" ? { ...this.schedulerConfig, _class_name: scheduler } : scheduler
    createScheduler(config) // validate now
    this.schedulerConfig = config
  }

  /** Builds this task's latents and timesteps. */
  protected abstract prepare(options: O, ctx: PrepareContext): Promise<PreparedRun>

  /** Runs the pipeline. */
  async run(options: O): Promise<PipelineOutput> {
    checkKnownOptions(options, this.task, this.className)
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
    const prepared = await this.prepare(options, { scheduler, generator, batchSize, numInferenceSteps })
    const doCfg = usesUncond(chain, prepared.timesteps)
    const text = await this.model.encodePrompt({
      prompt: options.prompt, prompt2: options.prompt2, negativePrompt: options.negativePrompt,
      negativePrompt2: options.negativePrompt2, numImagesPerPrompt: numImages, doCfg,
      promptEmbeds: options.promptEmbeds, pooledPromptEmbeds: options.pooledPromptEmbeds,
      negativePromptEmbeds: options.negativePromptEmbeds, negativePooledPromptEmbeds: options.negativePooledPromptEmbeds,
      clipSkip: options.clipSkip,
    })
    const sources = this.#conditioning(options, prepared, text, batchSize)
    const latents = await runDenoisingLoop({
      scheduler,
      chain,
      timesteps: prepared.timesteps,
      latents: prepared.latents,
      generator,
      ...(options.passes === undefined ? {} : { passes: options.passes }),
      denoise: (pass, modelInput, ctx) => this.#denoise(pass, modelInput, ctx, sources, prepared),
      ...(prepared.afterStep === undefined ? {} : { afterStep: prepared.afterStep }),
      ...(options.onStep === undefined ? {} : { onStep: options.onStep }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    })
    const warnings = [...text.warnings, ...(this.layerResolver?.notes ?? [])]
    if (options.outputType === "latent") return new PipelineOutput({ images: undefined, latents, seed, warnings })
    if (options.signal?.aborted === true) throw new PipelineError("ABORTED", "the run was aborted before decoding.")
    let images = await this.model.vae.decode(latents)
    if (prepared.finishImages !== undefined) images = await prepared.finishImages(images)
    return new PipelineOutput({ images, latents, seed, warnings })
  }

  #conditioning(options: O, prepared: PreparedRun, text: SdxlPromptEmbeds, batchSize: number): Record<string, RowSource> {
    const o = options as O & { aestheticScore?: number; negativeAestheticScore?: number }
    const size = [prepared.height, prepared.width] as const
    const timeIdsOptions: Omit<TimeIdsOptions, "requiresAestheticsScore" | "expectedLength"> = {
      originalSize: options.originalSize ?? size,
      targetSize: options.targetSize ?? size,
      cropsCoordsTopLeft: options.cropsCoordsTopLeft,
      negativeOriginalSize: options.negativeOriginalSize,
      negativeCropsCoordsTopLeft: options.negativeCropsCoordsTopLeft,
      negativeTargetSize: options.negativeTargetSize,
      aestheticScore: o.aestheticScore,
      negativeAestheticScore: o.negativeAestheticScore,
      pipeline: prepared.timeIdsRules,
    }
    const ids = this.model.timeIds(timeIdsOptions)
    const rows = (values: readonly number[]): Tensor => tile(timeIdsTensor([values]), [batchSize, 1])
    return {
      encoder_hidden_states: { cond: text.promptEmbeds, uncond: text.negativePromptEmbeds },
      text_embeds: { cond: text.pooledPromptEmbeds, uncond: text.negativePooledPromptEmbeds },
      time_ids: { cond: rows(ids.timeIds), uncond: rows(ids.negativeTimeIds) },
    }
  }

  async #denoise(
    pass: PlannedPass,
    modelInput: Tensor<"float32">,
    ctx: StepContext,
    sources: Record<string, RowSource>,
    prepared: PreparedRun,
  ): Promise<Tensor<"float32">> {
    const sampleSource = prepared.sampleExtras === undefined ? modelInput : concat([modelInput, prepared.sampleExtras], 1)
    const inputs = gatherRows(pass, { ...sources, sample: sampleSource })
    const resolver = this.layerResolver
    const hooks = pass.rows.map((row) => (resolver === undefined ? undefined : resolver.rowHooks(row.hooks)))
    return this.model.unet.denoise({
      sample: inputs["sample"] as Tensor<"float32">,
      timestep: ctx.timestep,
      encoderHiddenStates: inputs["encoder_hidden_states"] as Tensor<"float32">,
      textEmbeds: inputs["text_embeds"] as Tensor<"float32">,
      timeIds: inputs["time_ids"] as Tensor<"float32">,
      hooks,
    })
  }
}

/** A seed for runs that give none (reported on the output so the image can be made again). */
function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 32)
}
