// Port of diffusers pipelines/pag/pipeline_pag_pixart_sigma.py PixArtSigmaPAGPipeline.__call__ (and
// pipelines/pixart_alpha/pipeline_pixart_sigma.py for the PAG-less path, which is the same with pag_scale 0).
import { Tensor, TorchGenerator } from "@pagkit/tensor"
import { guidance } from "@pagkit/guidance"
import type { GuidanceChain } from "@pagkit/guidance"
import { cfg } from "@pagkit/guidance-cfg"
import { pag } from "@pagkit/guidance-pag"
import { createScheduler } from "@pagkit/schedulers"
import type { Scheduler } from "@pagkit/schedulers"
import { denormalizeImages, randnTensor } from "@pagkit/models-core"
import { loadPixArtSigma, resizeAndCropImages } from "@pagkit/models-pixart-sigma"
import type { LoadPixArtSigmaOptions, PixArtSigmaModel } from "@pagkit/models-pixart-sigma"
import type { ResolvedLayers } from "@pagkit/onnx"
import { runDenoisingLoop } from "../denoising-loop.js"
import { InvalidOptionError } from "../errors.js"
import { PIXART_DEFAULT_PAG_LAYERS } from "./pixart-options.js"
import type { PagLayerMatching, PixArtSigmaCallOptions, PixArtSigmaOutput, PixArtSigmaPipelineOptions } from "./pixart-options.js"
import { passInputs } from "./pixart-rows.js"
import type { PixArtConditioning } from "./pixart-rows.js"

const f32 = Math.fround

function patternList(layers: string | readonly string[]): readonly string[] {
  const list = typeof layers === "string" ? [layers] : layers
  if (!Array.isArray(list) || list.some((l) => typeof l !== "string" || l === "")) {
    throw new InvalidOptionError(`pagAppliedLayers: expected a pattern or a list of patterns such as "blocks.1", found ${JSON.stringify(layers)}.`)
  }
  return Object.freeze([...(list as readonly string[])])
}

function checkMatching(matching: unknown): PagLayerMatching {
  if (matching !== "diffusers" && matching !== "strict") {
    throw new InvalidOptionError(`pagLayerMatching: expected "diffusers" or "strict", found ${JSON.stringify(matching)}.`)
  }
  return matching
}

function checkNumber(value: number | undefined, what: string, fallback: number, rule: "int>=1" | "finite"): number {
  const v = value ?? fallback
  const ok = rule === "int>=1" ? Number.isInteger(v) && v >= 1 : Number.isFinite(v)
  if (!ok) throw new InvalidOptionError(`${what}: expected ${rule === "int>=1" ? "a whole number ≥ 1" : "a finite number"}, found ${String(value)}.`)
  return v
}

/**
 * PixArt-Sigma text-to-image with Perturbed-Attention Guidance, matching diffusers' `PixArtSigmaPAGPipeline`
 * (CFG + PAG, PAG only with `guidanceScale ≤ 1`, CFG only with `pagScale: 0`). PAG layers are inputs of the
 * hooked transformer: {@link PixArtSigmaPipeline.setPagAppliedLayers} takes effect on the next call without reloading.
 *
 * @example
 * const pipe = await PixArtSigmaPipeline.fromPretrained("models/tiny-pixart-sigma", { pagAppliedLayers: ["blocks.1"] })
 * const { images } = await pipe.call({ prompt: "a cactus", numInferenceSteps: 20, seed: 0, pagScale: 3 })
 */
export class PixArtSigmaPipeline {
  readonly model: PixArtSigmaModel
  readonly passes: "batched" | "separate"
  #patterns: readonly string[]
  #matching: PagLayerMatching
  #resolved: ResolvedLayers

  constructor(model: PixArtSigmaModel, options: PixArtSigmaPipelineOptions = {}) {
    this.model = model
    this.passes = options.passes ?? "batched"
    this.#patterns = patternList(options.pagAppliedLayers ?? PIXART_DEFAULT_PAG_LAYERS)
    this.#matching = checkMatching(options.pagLayerMatching ?? "diffusers")
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
  get pagLayerMatching(): PagLayerMatching {
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
  setPagAppliedLayers(layers: string | readonly string[], options: { readonly matching?: PagLayerMatching } = {}): ResolvedLayers {
    const patterns = patternList(layers)
    const matching = checkMatching(options.matching ?? this.#matching)
    const resolved = this.#resolve(patterns, matching)
    this.#patterns = patterns
    this.#matching = matching
    this.#resolved = resolved
    return resolved
  }

  /** Runs the pipeline; see {@link PixArtSigmaCallOptions}. */
  async call(options: PixArtSigmaCallOptions): Promise<PixArtSigmaOutput> {
    const { model } = this
    const guidanceScale = checkNumber(options.guidanceScale, "guidanceScale", 4.5, "finite")
    const pagScale = checkNumber(options.pagScale, "pagScale", 3, "finite")
    const pagAdaptiveScale = checkNumber(options.pagAdaptiveScale, "pagAdaptiveScale", 0, "finite")
    const numImagesPerPrompt = checkNumber(options.numImagesPerPrompt, "numImagesPerPrompt", 1, "int>=1")
    if (options.prompt !== undefined && options.promptEmbeds !== undefined) {
      throw new InvalidOptionError("pass either prompt or promptEmbeds, not both.")
    }
    const size = model.planSize({
      height: options.height,
      width: options.width,
      useResolutionBinning: options.useResolutionBinning,
    })
    const batchSize =
      options.prompt !== undefined
        ? typeof options.prompt === "string"
          ? 1
          : options.prompt.length
        : (options.promptEmbeds?.shape[0] ?? 0)
    if (batchSize < 1) throw new InvalidOptionError("pass a prompt (a string or a non-empty list) or promptEmbeds.")

    const pagLayers = pagScale > 0 ? this.#resolved.layers : []
    const chain: GuidanceChain = guidance(
      cfg({ scale: guidanceScale }),
      pag({ scale: pagScale, layers: pagLayers, ...(pagLayers.length > 0 ? { adaptiveScale: pagAdaptiveScale } : {}) }),
    )
    const scheduler = this.#scheduler(options)
    const timesteps = scheduler.timesteps
    const steps = timesteps.map((timestep, stepIndex) => ({ stepIndex, numSteps: timesteps.length, timestep }))
    const doCfg = chain.conditionings(steps).includes("uncond")

    const encoded = await model.encodePrompt({
      prompt: options.prompt,
      negativePrompt: options.negativePrompt,
      numImagesPerPrompt,
      doCfg,
      maxSequenceLength: options.maxSequenceLength,
      promptEmbeds: options.promptEmbeds,
      promptAttentionMask: options.promptAttentionMask,
      negativePromptEmbeds: options.negativePromptEmbeds,
      negativePromptAttentionMask: options.negativePromptAttentionMask,
    })
    for (const warning of encoded.warnings) options.onWarning?.(warning)
    const conditioning: PixArtConditioning = {
      cond: { embeds: encoded.promptEmbeds, mask: encoded.promptAttentionMask },
      uncond:
        encoded.negativePromptEmbeds === undefined
          ? undefined
          : { embeds: encoded.negativePromptEmbeds, mask: encoded.negativePromptAttentionMask! },
    }

    const rows = batchSize * numImagesPerPrompt
    const { generator, loopGenerator } = this.#generators(options, rows)
    const latents = this.#prepareLatents(options.latents, [rows, model.transformer.inChannels, size.latentHeight, size.latentWidth], generator, scheduler)

    const transformer = model.transformer
    const final = await runDenoisingLoop({
      scheduler,
      chain,
      timesteps,
      latents,
      generator: loopGenerator,
      passes: this.passes,
      denoise: async (pass, modelInput, ctx) => {
        const inputs = passInputs(pass, modelInput, conditioning)
        return transformer.denoise({ ...inputs, timestep: ctx.timestep, imageSize: { height: size.height, width: size.width } })
      },
      toSchedulerOutput: (guided) => transformer.dropLearnedSigma(guided),
      ...(options.onStep === undefined ? {} : { onStep: options.onStep }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    })

    // diffusers: vae.decode(latents / scaling_factor), resize_and_crop_tensor when binned, then postprocess.
    const invScale = f32(1 / f32(model.vae.config.scalingFactor))
    const unscaled = new Tensor("float32", final.data.map((x) => f32(x * invScale)), final.shape)
    let decoded = await model.vae.decodeRaw(unscaled)
    if (size.binned) decoded = resizeAndCropImages(decoded, size.outputHeight, size.outputWidth)
    return Object.freeze({
      images: denormalizeImages(decoded),
      latents: final,
      pagLayers: Object.freeze([...pagLayers]),
      warnings: encoded.warnings,
    })
  }

  /** Frees the model's sessions. */
  release(): Promise<void> {
    return this.model.release()
  }

  #resolve(patterns: readonly string[], matching: PagLayerMatching): ResolvedLayers {
    if (patterns.length === 0) return Object.freeze({ layers: Object.freeze([]), notes: Object.freeze([]) })
    return this.model.resolvePagLayers(patterns, matching)
  }

  #scheduler(options: PixArtSigmaCallOptions): Scheduler {
    const scheduler = createScheduler(this.model.schedulerConfig)
    if (options.timesteps !== undefined && options.sigmas !== undefined) {
      throw new InvalidOptionError("pass timesteps or sigmas, not both (diffusers' retrieve_timesteps).")
    }
    if (options.timesteps !== undefined) scheduler.setTimesteps({ timesteps: options.timesteps })
    else if (options.sigmas !== undefined) scheduler.setTimesteps({ sigmas: options.sigmas })
    else scheduler.setTimesteps(checkNumber(options.numInferenceSteps, "numInferenceSteps", 20, "int>=1"))
    return scheduler
  }

  #generators(
    options: PixArtSigmaCallOptions,
    rows: number,
  ): { generator: TorchGenerator | readonly TorchGenerator[]; loopGenerator: TorchGenerator } {
    if (options.generator !== undefined) {
      const list = options.generator
      if (Array.isArray(list)) {
        const generators = list as readonly TorchGenerator[]
        if (generators.length !== rows && generators.length !== 1) {
          throw new InvalidOptionError(
            `${generators.length} generators were passed for ${rows} images (batch × numImagesPerPrompt); pass one generator or one per image.`,
          )
        }
        return { generator: generators, loopGenerator: generators[0]! }
      }
      return { generator: list as TorchGenerator, loopGenerator: list as TorchGenerator }
    }
    const seed = options.seed ?? BigInt(Math.floor(Math.random() * 2 ** 32)) * 2n ** 20n + BigInt(Math.floor(Math.random() * 2 ** 20))
    const generator = new TorchGenerator(seed)
    return { generator, loopGenerator: generator }
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
