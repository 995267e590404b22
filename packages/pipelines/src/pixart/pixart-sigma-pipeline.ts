// Port of diffusers pipelines/pag/pipeline_pag_pixart_sigma.py PixArtSigmaPAGPipeline.__call__ (and
// pipelines/pixart_alpha/pipeline_pixart_sigma.py for the PAG-less path, which is the same with pag_scale 0).
import { Tensor, TorchGenerator } from "@pagkit/tensor"
import type { PlannedPass, StepContext } from "@pagkit/guidance"
import { createScheduler } from "@pagkit/schedulers"
import type { Scheduler } from "@pagkit/schedulers"
import { denormalizeImages, randnTensor } from "@pagkit/models-core"
import type { HookableDenoiser, RowHooks } from "@pagkit/models-core"
import { loadPixArtSigma, loadPixArtTransformer, resizeAndCropImages } from "@pagkit/models-pixart-sigma"
import type { LoadPixArtSigmaOptions, PixArtPromptEmbeds, PixArtSigmaModel, PixArtSizePlan } from "@pagkit/models-pixart-sigma"
import { IDENTITY_ATTENTION } from "@pagkit/onnx"
import type { ResolvedLayers } from "@pagkit/onnx"
import { InvalidOptionError } from "../errors.js"
import { usesUncond } from "../guidance-options.js"
import { gatherRows } from "../row-inputs.js"
import type { RowSource } from "../row-inputs.js"
import { PipelineCore } from "../core/pipeline-core.js"
import type { CoreInit, FamilyRun, OutputParts, RunContext } from "../core/pipeline-core.js"
import { ModelHost } from "../core/model-host.js"
import { defaultHookKinds, kindsByName } from "../core/catalogues.js"
import { modelFolder, withoutHubOptions } from "../core/model-source.js"
import type { HubLoadOptions } from "../core/model-source.js"
import { checkMatching, checkOptions, patternList } from "./pixart-call-checks.js"
import { PIXART_DEFAULT_PAG_LAYERS, PixArtSigmaOutput } from "./pixart-options.js"
import type { LayerMatching } from "../layer-resolver.js"
import type { PixArtSigmaCallOptions, PixArtSigmaPipelineOptions } from "./pixart-options.js"

const f32 = Math.fround

/** The PixArt-Sigma model host: the model and its transformer's hook kinds, shared by pipelines over one model. */
export type PixArtHost = ModelHost<PixArtSigmaModel>

/** A host that can install more hook kinds by reloading the transformer graph (weights stay on disk). */
export function pixartHost(model: PixArtSigmaModel, options: LoadPixArtSigmaOptions = {}): PixArtHost {
  const transformerPath = model.transformerPath
  const sessionOptions = {
    ...(options.sessionOptions ?? {}),
    ...(options.executionProviders === undefined ? {} : { executionProviders: options.executionProviders }),
  }
  const installed = model.transformer.hooks.map((h) => h.kind)
  const known = kindsByName(defaultHookKinds(), options.hooks)
  return new ModelHost<PixArtSigmaModel>({
    model,
    kinds: installed.flatMap((name) => (known.get(name) === undefined ? [] : [known.get(name)!])),
    ...(transformerPath === undefined
      ? {}
      : {
          rehook: async (current: PixArtSigmaModel, kinds) =>
            current.withTransformer(
              await loadPixArtTransformer(transformerPath, { ...sessionOptions, hooks: kinds, config: current.transformer.config, cacheDir: options.hookCacheDir }),
            ),
          release: async (old: PixArtSigmaModel) => {
            await old.transformer.session.release?.()
          },
        }),
  })
}

/** Options of {@link PixArtSigmaPipeline.fromPretrained} and the constructor: loading, plugins, PAG layers. */
export type PixArtSigmaPipelineInit = PixArtSigmaPipelineOptions & Omit<CoreInit<PixArtSigmaModel>, "host" | "pagAppliedLayers" | "layerMatching">

/**
 * PixArt-Sigma text-to-image with Perturbed-Attention Guidance, matching diffusers' `PixArtSigmaPAGPipeline`
 * (CFG + PAG, PAG only with `guidanceScale ≤ 1`, CFG only with `pagScale: 0`). PAG layers are inputs of the
 * hooked transformer: {@link PixArtSigmaPipeline.setPagAppliedLayers} takes effect on the next call without reloading.
 *
 * @example
 * const pipe = await PixArtSigmaPipeline.fromPretrained("models/tiny-pixart-sigma", { pagAppliedLayers: ["blocks.1"] })
 * const { images } = await pipe.run({ prompt: "a cactus", numInferenceSteps: 20, seed: 0, pagScale: 3 })
 */
export class PixArtSigmaPipeline extends PipelineCore<PixArtSigmaCallOptions, PixArtSigmaModel, PixArtSigmaOutput> {
  readonly passes: "batched" | "separate"
  readonly task = "text2image" as const

  constructor(model: PixArtSigmaModel | PixArtHost, options: PixArtSigmaPipelineInit = {}) {
    const host = model instanceof ModelHost ? model : pixartHost(model)
    const { pagAppliedLayers: _layers, enablePag: _pag, ...init } = options
    super({ ...init, host, layerMatching: checkMatching(options.layerMatching ?? "diffusers") })
    this.passes = options.passes ?? "batched"
    if (options.enablePag !== false) this.setPagAppliedLayers(patternList(options.pagAppliedLayers ?? PIXART_DEFAULT_PAG_LAYERS))
  }

  /** Loads a PixArt-Sigma ONNX folder (see `loadPixArtSigma`) and wraps it. */
  static async fromPretrained(idOrDir: string, given: LoadPixArtSigmaOptions & PixArtSigmaPipelineInit & HubLoadOptions = {}): Promise<PixArtSigmaPipeline> {
    const dir = await modelFolder(idOrDir, given)
    const options = withoutHubOptions(given)
    const catalogue = kindsByName(defaultHookKinds(), options.hookCatalogue, options.hooks)
    const identity = catalogue.get(IDENTITY_ATTENTION)
    const hooks = [...kindsByName(identity === undefined ? [] : [identity], options.hooks).values()]
    const model = await loadPixArtSigma(dir, { ...options, hooks })
    const host = pixartHost(model, { ...options, hooks })
    return new PixArtSigmaPipeline(host, { ...options, hookCatalogue: [...catalogue.values()] })
  }

  /** diffusers' class name. */
  get className(): string {
    return super.pagAppliedLayers === undefined ? "PixArtSigmaPipeline" : "PixArtSigmaPAGPipeline"
  }

  protected get defaultGuidanceScale(): number {
    return 4.5
  }

  protected denoiserOf(model: PixArtSigmaModel): HookableDenoiser {
    return model.transformer
  }

  /** The layer patterns set (diffusers' `pag_applied_layers`). */
  override get pagAppliedLayers(): readonly string[] {
    return super.pagAppliedLayers ?? []
  }

  /** Module paths the patterns select, and notes where strict and diffusers matching differ. */
  get pagLayers(): ResolvedLayers {
    const patterns = this.pagAppliedLayers
    return { layers: this.layerResolver.resolve(patterns), notes: this.layerResolver.notes(patterns) }
  }

  /**
   * diffusers' `set_pag_applied_layers`: new patterns (and optionally matching mode) for the next calls. Resolved
   * at once, so a pattern matching no layer (or an empty list) fails here, naming the available layers.
   */
  override setPagAppliedLayers(layers: string | readonly string[], options: { readonly matching?: LayerMatching } = {}): ResolvedLayers {
    const matching = options.matching === undefined ? undefined : checkMatching(options.matching)
    return super.setPagAppliedLayers(patternList(layers), matching === undefined ? {} : { matching })
  }

  /** Frees the model's sessions. */
  release(): Promise<void> {
    return this.model.release()
  }

  protected checkCall(options: PixArtSigmaCallOptions): void {
    checkOptions(options)
  }

  protected makeOutput(parts: OutputParts): PixArtSigmaOutput {
    const pagLayers = parts.hookedLayers[IDENTITY_ATTENTION] ?? []
    // layer-matching notes matter only when PAG ran
    const warnings = pagLayers.length > 0 ? parts.warnings : parts.warnings.filter((w) => !this.#isLayerNote(w))
    return new PixArtSigmaOutput({ images: parts.images, latents: parts.latents, seed: parts.seed, warnings, pagLayers })
  }

  #isLayerNote(warning: string): boolean {
    return this.pagAppliedLayers.some((p) => warning.startsWith(`"${p}":`))
  }

  protected async prepareRun(options: PixArtSigmaCallOptions, run: RunContext): Promise<FamilyRun> {
    const model = this.model
    const size = model.planSize({ height: options.height, width: options.width, useResolutionBinning: options.useResolutionBinning })
    const numImagesPerPrompt = options.numImagesPerPrompt ?? 1
    const batchSize = typeof options.prompt === "string" ? 1 : (options.prompt?.length ?? options.promptEmbeds?.shape[0] ?? 0)
    if (batchSize < 1) throw new InvalidOptionError("pass a prompt (a string or a non-empty list) or promptEmbeds.")
    const scheduler = this.#scheduler(options)
    const timesteps = scheduler.timesteps
    const encoded = await model.encodePrompt({
      prompt: options.prompt,
      negativePrompt: options.negativePrompt,
      numImagesPerPrompt,
      doCfg: usesUncond(run.chain, timesteps),
      maxSequenceLength: options.maxSequenceLength,
      promptEmbeds: options.promptEmbeds,
      promptAttentionMask: options.promptAttentionMask,
      negativePromptEmbeds: options.negativePromptEmbeds,
      negativePromptAttentionMask: options.negativePromptAttentionMask,
    })
    const rows = batchSize * numImagesPerPrompt
    const latents = this.#prepareLatents(options.latents, [rows, model.transformer.inChannels, size.latentHeight, size.latentWidth], run.generator, scheduler)
    return {
      scheduler,
      timesteps,
      latents,
      generator: this.#loopGenerator(run.generator, rows),
      batchSize: rows,
      warnings: encoded.warnings,
      denoise: (pass, modelInput, ctx, hooks) => this.#denoise(model, { pass, modelInput, ctx, hooks }, { encoded, size }),
      toSchedulerOutput: (guided) => model.transformer.dropLearnedSigma(guided),
      decode: (final) => this.#decode(model, final, size),
    }
  }

  /** The pipeline's `passes` unless the call overrides it. */
  override async run(options: PixArtSigmaCallOptions): Promise<PixArtSigmaOutput> {
    return super.run(options.passes === undefined ? { ...options, passes: this.passes } : options)
  }

  #scheduler(options: PixArtSigmaCallOptions): Scheduler {
    const scheduler = createScheduler(this.model.schedulerConfig)
    if (options.timesteps !== undefined) scheduler.setTimesteps({ timesteps: options.timesteps })
    else if (options.sigmas !== undefined) scheduler.setTimesteps({ sigmas: options.sigmas })
    else scheduler.setTimesteps(options.numInferenceSteps ?? 20)
    return scheduler
  }

  /** One transformer call for a planned pass: rows chunk-major, each with its latents, text, mask and hooks. */
  #denoise(
    model: PixArtSigmaModel,
    step: { readonly pass: PlannedPass; readonly modelInput: Tensor<"float32">; readonly ctx: StepContext; readonly hooks: readonly (RowHooks | undefined)[] },
    run: { encoded: PixArtPromptEmbeds; size: PixArtSizePlan },
  ): Promise<Tensor<"float32">> {
    const { encoded, size } = run
    const sources: Record<string, RowSource> = {
      sample: step.modelInput,
      encoderHiddenStates: { cond: encoded.promptEmbeds, uncond: encoded.negativePromptEmbeds },
      encoderAttentionMask: { cond: encoded.promptAttentionMask, uncond: encoded.negativePromptAttentionMask },
    }
    const inputs = gatherRows(step.pass, sources)
    return model.transformer.denoise({
      sample: inputs["sample"] as Tensor<"float32">,
      encoderHiddenStates: inputs["encoderHiddenStates"] as Tensor<"float32">,
      encoderAttentionMask: inputs["encoderAttentionMask"]!,
      timestep: step.ctx.timestep,
      hooks: step.hooks,
      imageSize: { height: size.height, width: size.width },
    })
  }

  /** diffusers: `vae.decode(latents / scaling_factor)`, `resize_and_crop_tensor` when binned, then postprocess. */
  async #decode(model: PixArtSigmaModel, latents: Tensor<"float32">, size: PixArtSizePlan): Promise<Tensor<"float32">> {
    const invScale = f32(1 / f32(model.vae.config.scalingFactor))
    const unscaled = new Tensor("float32", latents.data.map((x) => f32(x * invScale)), latents.shape)
    let decoded = await model.vae.decodeRaw(unscaled)
    if (size.binned) decoded = resizeAndCropImages(decoded, size.outputHeight, size.outputWidth)
    return denormalizeImages(decoded)
  }

  /** The generator scheduler steps draw from (diffusers passes its generator argument to `step`). */
  #loopGenerator(generators: TorchGenerator | readonly TorchGenerator[], rows: number): TorchGenerator {
    if (!Array.isArray(generators)) return generators as TorchGenerator
    const list = generators as readonly TorchGenerator[]
    if (list.length !== rows && list.length !== 1) {
      throw new InvalidOptionError(
        `${list.length} generators were passed for ${rows} images (batch × numImagesPerPrompt); pass one generator or one per image.`,
      )
    }
    return list[0]!
  }

  #prepareLatents(
    given: Tensor<"float32"> | undefined,
    shape: readonly number[],
    generator: TorchGenerator | readonly TorchGenerator[],
    scheduler: Scheduler,
  ): Tensor<"float32"> {
    if (given !== undefined && given.shape.join() !== shape.join()) {
      throw new InvalidOptionError(`latents: expected shape [${shape.join(", ")}], found ${given.describe()}.`)
    }
    const noise = given ?? randnTensor([...shape], generator)
    const sigma = f32(scheduler.initNoiseSigma)
    return new Tensor("float32", noise.data.map((x) => f32(x * sigma)), noise.shape)
  }
}
