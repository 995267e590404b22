// Port of diffusers pipelines/pag/pipeline_pag_pixart_sigma.py PixArtSigmaPAGPipeline.__call__ (and
// pipelines/pixart_alpha/pipeline_pixart_sigma.py for the PAG-less path, which is the same with pag_scale 0).
import { Tensor, TorchGenerator } from "@pagkit/tensor"
import type { GuidanceChain, PlannedPass, StepContext } from "@pagkit/guidance"
import { createScheduler } from "@pagkit/schedulers"
import type { Scheduler } from "@pagkit/schedulers"
import { denormalizeImages, randnTensor } from "@pagkit/models-core"
import { loadPixArtSigma, resizeAndCropImages } from "@pagkit/models-pixart-sigma"
import type { LoadPixArtSigmaOptions, PixArtPromptEmbeds, PixArtSigmaModel, PixArtSizePlan } from "@pagkit/models-pixart-sigma"
import type { ResolvedLayers } from "@pagkit/onnx"
import { runDenoisingLoop } from "../denoising-loop.js"
import { InvalidOptionError, PipelineError } from "../errors.js"
import { guidanceFromOptions, usesUncond } from "../guidance-options.js"
import { gatherRows } from "../row-inputs.js"
import type { RowSource } from "../row-inputs.js"
import { checkMatching, checkOptions, patternList } from "./pixart-call-checks.js"
import { PIXART_DEFAULT_PAG_LAYERS, PixArtSigmaOutput } from "./pixart-options.js"
import { LayerResolver } from "../layer-resolver.js"
import type { LayerMatching } from "../layer-resolver.js"
import { randomSeed } from "../random-seed.js"
import type { PixArtSigmaCallOptions, PixArtSigmaPipelineOptions } from "./pixart-options.js"

const f32 = Math.fround
const IDENTITY_ATTENTION = "identity-attention"

/**
 * PixArt-Sigma text-to-image with Perturbed-Attention Guidance, matching diffusers' `PixArtSigmaPAGPipeline`
 * (CFG + PAG, PAG only with `guidanceScale ≤ 1`, CFG only with `pagScale: 0`). PAG layers are inputs of the
 * hooked transformer: {@link PixArtSigmaPipeline.setPagAppliedLayers} takes effect on the next call without reloading.
 *
 * @example
 * const pipe = await PixArtSigmaPipeline.fromPretrained("models/tiny-pixart-sigma", { pagAppliedLayers: ["blocks.1"] })
 * const { images } = await pipe.run({ prompt: "a cactus", numInferenceSteps: 20, seed: 0, pagScale: 3 })
 */
export class PixArtSigmaPipeline {
  readonly model: PixArtSigmaModel
  readonly passes: "batched" | "separate"
  #patterns: readonly string[]
  #matching: LayerMatching
  #resolved: ResolvedLayers
  #layerResolver: LayerResolver | undefined

  constructor(model: PixArtSigmaModel, options: PixArtSigmaPipelineOptions = {}) {
    this.model = model
    this.passes = options.passes ?? "batched"
    this.#patterns = patternList(options.pagAppliedLayers ?? PIXART_DEFAULT_PAG_LAYERS)
    this.#matching = checkMatching(options.layerMatching ?? "diffusers")
    this.#resolved = this.#resolve(this.#patterns, this.#matching)
  }

  /** Loads a PixArt-Sigma ONNX folder (see `loadPixArtSigma`) and wraps it. */
  static async fromPretrained(
    dir: string,
    options: LoadPixArtSigmaOptions & PixArtSigmaPipelineOptions = {},
  ): Promise<PixArtSigmaPipeline> {
    return new PixArtSigmaPipeline(await loadPixArtSigma(dir, options), options)
  }

  /** The layer patterns set (diffusers' `pag_applied_layers`). */
  get pagAppliedLayers(): readonly string[] {
    return this.#patterns
  }

  /** How patterns are matched. */
  get layerMatching(): LayerMatching {
    return this.#matching
  }

  /** Module paths the patterns select, and notes where strict and diffusers matching differ. */
  get pagLayers(): ResolvedLayers {
    return this.#resolved
  }

  /**
   * diffusers' `set_pag_applied_layers`: new patterns (and optionally matching mode) for the next calls. Resolved
   * at once, so a pattern matching no layer fails here, naming the available layers.
   */
  setPagAppliedLayers(layers: string | readonly string[], options: { readonly matching?: LayerMatching } = {}): ResolvedLayers {
    const patterns = patternList(layers)
    const matching = checkMatching(options.matching ?? this.#matching)
    const resolved = this.#resolve(patterns, matching)
    this.#patterns = patterns
    this.#matching = matching
    this.#resolved = resolved
    return resolved
  }

  /** Runs the pipeline; see {@link PixArtSigmaCallOptions}. */
  async run(options: PixArtSigmaCallOptions): Promise<PixArtSigmaOutput> {
    checkOptions(options)
    const { model } = this
    const size = model.planSize({ height: options.height, width: options.width, useResolutionBinning: options.useResolutionBinning })
    const numImagesPerPrompt = options.numImagesPerPrompt ?? 1
    const batchSize = typeof options.prompt === "string" ? 1 : (options.prompt?.length ?? options.promptEmbeds?.shape[0] ?? 0)
    if (batchSize < 1) throw new InvalidOptionError("pass a prompt (a string or a non-empty list) or promptEmbeds.")

    const chain = guidanceFromOptions(options, { guidanceScale: 4.5, pagLayers: this.#patterns })
    const resolver = this.#resolver()
    const resolveHooks = (patterns: readonly string[]): readonly string[] => resolver.resolve(patterns)
    for (const hook of chain.hooks) {
      if (!model.transformer.hookKinds.includes(hook.kind)) {
        throw new PipelineError("HOOK_NOT_INSTALLED", `guidance "${hook.branch}" needs the "${hook.kind}" hook, which this transformer lacks (installed: ${model.transformer.hookKinds.join(", ")}).`)
      }
      resolveHooks(hook.layers) // fail early on a pattern that matches nothing
    }
    const scheduler = this.#scheduler(options)
    const timesteps = scheduler.timesteps
    const encoded = await model.encodePrompt({
      prompt: options.prompt,
      negativePrompt: options.negativePrompt,
      numImagesPerPrompt,
      doCfg: usesUncond(chain, timesteps),
      maxSequenceLength: options.maxSequenceLength,
      promptEmbeds: options.promptEmbeds,
      promptAttentionMask: options.promptAttentionMask,
      negativePromptEmbeds: options.negativePromptEmbeds,
      negativePromptAttentionMask: options.negativePromptAttentionMask,
    })
    for (const warning of encoded.warnings) options.onWarning?.(warning)

    const rows = batchSize * numImagesPerPrompt
    const seed = options.generator === undefined ? (options.seed ?? randomSeed()) : undefined
    const generators = options.generator ?? new TorchGenerator(seed!)
    const loopGenerator = this.#loopGenerator(generators, rows)
    const latents = this.#prepareLatents(options.latents, [rows, model.transformer.inChannels, size.latentHeight, size.latentWidth], generators, scheduler)

    const final = await runDenoisingLoop({
      scheduler,
      chain,
      timesteps,
      latents,
      generator: loopGenerator,
      passes: options.passes ?? this.passes,
      denoise: (pass, modelInput, ctx) => this.#denoise(pass, modelInput, ctx, { encoded, size, resolver }),
      toSchedulerOutput: (guided) => model.transformer.dropLearnedSigma(guided),
      ...(options.onStep === undefined ? {} : { onStep: options.onStep }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    })
    const pagLayers = this.#perturbedLayers(chain, timesteps, resolveHooks)
    // notes matter only when PAG ran
    const layerNotes = pagLayers.length === 0 ? [] : [...new Set(chain.hooks.flatMap((hook) => resolver.notes(hook.layers)))]
    for (const note of layerNotes) options.onWarning?.(note)
    const warnings = [...encoded.warnings, ...layerNotes]
    if (options.outputType === "latent") return new PixArtSigmaOutput({ images: undefined, latents: final, seed, warnings, pagLayers })
    if (options.signal?.aborted === true) throw new PipelineError("ABORTED", "the run was aborted before decoding.")
    return new PixArtSigmaOutput({ images: await this.#decode(final, size), latents: final, seed, warnings, pagLayers })
  }

  /** Frees the model's sessions. */
  release(): Promise<void> {
    return this.model.release()
  }

  /** The shared pattern resolver for the current matching mode (cached per mode). */
  #resolver(): LayerResolver {
    if (this.#layerResolver?.mode !== this.#matching) {
      this.#layerResolver = new LayerResolver(this.model.transformer.selfAttentionLayers, this.#matching)
    }
    return this.#layerResolver
  }

  #resolve(patterns: readonly string[], matching: LayerMatching): ResolvedLayers {
    if (patterns.length === 0) return Object.freeze({ layers: Object.freeze([]), notes: Object.freeze([]) })
    return this.model.resolvePagLayers(patterns, matching)
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
    pass: PlannedPass,
    modelInput: Tensor<"float32">,
    ctx: StepContext,
    run: { encoded: PixArtPromptEmbeds; size: PixArtSizePlan; resolver: LayerResolver },
  ): Promise<Tensor<"float32">> {
    const { encoded, size, resolver } = run
    const sources: Record<string, RowSource> = {
      sample: modelInput,
      encoderHiddenStates: { cond: encoded.promptEmbeds, uncond: encoded.negativePromptEmbeds },
      encoderAttentionMask: { cond: encoded.promptAttentionMask, uncond: encoded.negativePromptAttentionMask },
    }
    const inputs = gatherRows(pass, sources)
    const hooks = pass.rows.map((row) => resolver.rowHooks(row.hooks))
    return this.model.transformer.denoise({
      sample: inputs["sample"] as Tensor<"float32">,
      encoderHiddenStates: inputs["encoderHiddenStates"] as Tensor<"float32">,
      encoderAttentionMask: inputs["encoderAttentionMask"]!,
      timestep: ctx.timestep,
      hooks,
      imageSize: { height: size.height, width: size.width },
    })
  }

  /** Module paths of the identity-attention hook on any step's planned rows (what PAG perturbed). */
  #perturbedLayers(chain: GuidanceChain, timesteps: readonly number[], resolveHooks: (p: readonly string[]) => readonly string[]): readonly string[] {
    const used = new Set<string>()
    for (const [stepIndex, timestep] of timesteps.entries()) {
      for (const branch of chain.plan({ stepIndex, numSteps: timesteps.length, timestep }, { batchSize: 1 }).branches) {
        for (const layer of resolveHooks(branch.hooks[IDENTITY_ATTENTION] ?? [])) used.add(layer)
      }
    }
    return Object.freeze(this.model.transformer.selfAttentionLayers.filter((l) => used.has(l)))
  }

  /** diffusers: `vae.decode(latents / scaling_factor)`, `resize_and_crop_tensor` when binned, then postprocess. */
  async #decode(latents: Tensor<"float32">, size: PixArtSizePlan): Promise<Tensor<"float32">> {
    const invScale = f32(1 / f32(this.model.vae.config.scalingFactor))
    const unscaled = new Tensor("float32", latents.data.map((x) => f32(x * invScale)), latents.shape)
    let decoded = await this.model.vae.decodeRaw(unscaled)
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
