// The one pipeline core every model family plugs into (DESIGN §2): seeds and generators, the guidance chain, hooks
// (installed on demand from a catalogue, patterns resolved per target), the step loop, abort, callbacks, output.
import type { GuidanceCatalogue, GuidanceChain, GuidanceJSON, PlannedPass, StepContext } from "@pagkit/guidance"
import type { HookableDenoiser, RowHooks } from "@pagkit/models-core"
import type { HookKind, LayerTarget, ResolvedLayers, RowActivation } from "@pagkit/onnx"
import { IDENTITY_ATTENTION, SplitSession } from "@pagkit/onnx"
import type { SplitExecution } from "@pagkit/onnx"
import type { Scheduler } from "@pagkit/schedulers"
import { TorchGenerator } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { runDenoisingLoop } from "../denoising-loop.js"
import { assertFiniteImages } from "../finite-images.js"
import type { StepEvent } from "../denoising-loop.js"
import { AbortedError, InvalidOptionError, PipelineError } from "../errors.js"
import { guidanceFromOptions } from "../guidance-options.js"
import { LayerResolver } from "../layer-resolver.js"
import type { LayerMatching } from "../layer-resolver.js"
import type { PipelineOutput } from "../output.js"
import { randomSeed } from "../random-seed.js"
import { defaultGuidanceCatalogue, defaultHookKinds, kindsByName } from "./catalogues.js"
import type { HookCatalogue } from "./catalogues.js"
import type { ModelHost } from "./model-host.js"

/** Call options every family takes and the core reads. */
export interface CoreCallOptions {
  /** A ready guidance chain, or its JSON form (`chain.toJSON()`), instead of the scalar guidance options. */
  readonly guidance?: GuidanceChain | GuidanceJSON | undefined
  readonly guidanceScale?: number | undefined
  readonly guidanceRescale?: number | undefined
  readonly pagScale?: number | undefined
  readonly pagAdaptiveScale?: number | undefined
  /** Seeds a `TorchGenerator` (torch's `Generator("cpu").manual_seed(seed)`); ignored when `generator` is given. */
  readonly seed?: number | bigint | undefined
  /** `"batched"`: one denoiser call per step (diffusers' layout); `"separate"`: one per branch, lower peak memory. */
  readonly passes?: "batched" | "separate" | undefined
  /** DDIM-style η, for schedulers whose `step` takes it. */
  readonly eta?: number | undefined
  /** `"tensor"` (default): decoded images; `"latent"`: skip the VAE. */
  readonly outputType?: "tensor" | "latent" | undefined
  /** Called after each scheduler step with the latents (diffusers' step-end callback). */
  readonly onStep?: ((event: StepEvent) => void | Promise<void>) | undefined
  /** Receives warnings as they arise (they are also returned in the output). */
  readonly onWarning?: ((message: string) => void) | undefined
  /** Stops the run between steps with an `AbortedError`. */
  readonly signal?: AbortSignal | undefined
  /** Keep going when latents or decoded images hold NaN/±Infinity (default false: a `NonFiniteError` names the step). */
  readonly allowNonFinite?: boolean | undefined
  /**
   * How perturbed rows run (docs/performance.md): `"full"` (default) runs every row through the whole hooked graph;
   * `"split"` runs the part before the first perturbed layer once for rows that share inputs (PAG's perturbed row
   * reuses the cond row's), same outputs; `"auto"` splits when a cost model and the first calls' timings say it pays.
   * A split graph is one more onnxruntime session (its own copy of the weights), built on first use of a layer set.
   */
  readonly execution?: SplitExecution | undefined
}

/** What a family's preparation of one call hands to the core's step loop. */
export interface FamilyRun {
  readonly scheduler: Scheduler
  /** Timesteps to run, in order (the scheduler is set up already). */
  readonly timesteps: readonly number[]
  /** Starting latents `[batch, channels, h, w]`. */
  readonly latents: Tensor<"float32">
  /** The generator scheduler steps draw from (continuing the latents' stream, as in diffusers). */
  readonly generator: TorchGenerator
  /** Rows per chunk (`batch_size · num_images_per_prompt`). */
  readonly batchSize: number
  /** One denoiser call for a planned pass; `hooks` are the rows' activations resolved to site paths. */
  denoise(pass: PlannedPass, modelInput: Tensor<"float32">, ctx: StepContext, hooks: readonly (RowHooks | undefined)[]): Promise<Tensor<"float32">>
  /** Maps the guided prediction to what the scheduler takes (PixArt drops learned-sigma channels). */
  readonly toSchedulerOutput?: ((guided: Tensor<"float32">) => Tensor<"float32">) | undefined
  /** After each scheduler step (inpainting's blend). */
  readonly afterStep?: ((latents: Tensor<"float32">, ctx: StepContext) => Tensor<"float32">) | undefined
  /** Warnings from preparation (prompt truncation, …). */
  readonly warnings: readonly string[]
  /** Latents → images `[N, 3, H, W]` in [0, 1]. */
  decode(latents: Tensor<"float32">): Promise<Tensor<"float32">>
}

/** What the core gives a family's {@link PipelineCore.prepareRun}. */
export interface RunContext {
  readonly chain: GuidanceChain
  /** The call's generator(s): one, or one per image where the family allows it. */
  readonly generator: TorchGenerator | readonly TorchGenerator[]
  readonly seed: number | bigint | undefined
}

/** What the core hands a family to build the output. */
export interface OutputParts {
  readonly images: Tensor<"float32"> | undefined
  readonly latents: Tensor<"float32">
  readonly seed: number | bigint | undefined
  readonly warnings: readonly string[]
  /** Site paths each hook kind acted on during the run, in graph order. */
  readonly hookedLayers: Readonly<Record<string, readonly string[]>>
}

/** Options every pipeline core takes at construction. */
export interface CoreInit<M> {
  /** The model and the hook kinds its denoiser has, shared with pipelines made by `fromPipe`. */
  readonly host: ModelHost<M>
  /** More hook kinds the pipeline may install when a chain needs them, besides pagkit's and the host's. */
  readonly hookCatalogue?: HookCatalogue | undefined
  /** Strategies a JSON chain may name (default: pagkit's). */
  readonly guidanceCatalogue?: GuidanceCatalogue | undefined
  /** How layer patterns are read (default `"diffusers"`). */
  readonly layerMatching?: LayerMatching | undefined
  /** PAG layer patterns; undefined for a pipeline without PAG. */
  readonly pagAppliedLayers?: readonly string[] | undefined
}

/**
 * The shared pipeline machinery. A model family subclasses it with four small pieces: its denoiser, its call checks,
 * `prepareRun` (encode prompts, prepare latents and extra inputs, say how to call its denoiser and decode) and its
 * output type. Everything else — seeds, the guidance chain (object or JSON), hook kinds, layer patterns, the step
 * loop, abort, callbacks, warnings — lives here once.
 */
export abstract class PipelineCore<Call extends CoreCallOptions, M, Out extends PipelineOutput> {
  /** The model host, shared with pipelines made from this one. */
  readonly host: ModelHost<M>
  /** Hook kinds this pipeline may install on demand, by name. */
  readonly hookCatalogue: ReadonlyMap<string, HookKind>
  /** Strategies JSON chains may name. */
  readonly guidanceCatalogue: GuidanceCatalogue
  #matching: LayerMatching
  #pagLayers: readonly string[] | undefined
  readonly #resolvers = new WeakMap<object, LayerResolver>()

  constructor(init: CoreInit<M>) {
    this.host = init.host
    this.hookCatalogue = kindsByName(defaultHookKinds(), init.hookCatalogue, init.host.kinds)
    this.guidanceCatalogue = init.guidanceCatalogue ?? defaultGuidanceCatalogue
    this.#matching = init.layerMatching ?? "diffusers"
    if (this.#matching !== "diffusers" && this.#matching !== "strict") {
      throw new InvalidOptionError(`layerMatching: expected "diffusers" or "strict", found ${JSON.stringify(this.#matching)}.`)
    }
    this.#pagLayers = undefined
  }

  /** diffusers' class name of this pipeline (e.g. `StableDiffusionXLPAGPipeline`). */
  abstract get className(): string
  /** CFG scale when a call gives none. */
  protected abstract get defaultGuidanceScale(): number
  /** The family's denoiser in a model. */
  protected abstract denoiserOf(model: M): HookableDenoiser
  /** Rejects unknown options and out-of-range values before anything runs. */
  protected abstract checkCall(call: Call): void
  /** Encodes, prepares latents and extra inputs; says how to call the denoiser and decode. */
  protected abstract prepareRun(call: Call, ctx: RunContext): Promise<FamilyRun>
  /** The family's output object. */
  protected abstract makeOutput(parts: OutputParts): Out

  /** The loaded model (sessions shared with pipelines made by `fromPipe`). */
  get model(): M {
    return this.host.model
  }

  /** How layer patterns are read. */
  get layerMatching(): LayerMatching {
    return this.#matching
  }

  /** The pattern resolver over the current denoiser's layer index. */
  get layerResolver(): LayerResolver {
    const denoiser = this.denoiserOf(this.host.model)
    let resolver = this.#resolvers.get(denoiser)
    if (resolver === undefined || resolver.mode !== this.#matching) {
      const index = denoiser.layerIndex ?? denoiser.layers(IDENTITY_ATTENTION)
      resolver = new LayerResolver(index, this.#matching)
      this.#resolvers.set(denoiser, resolver)
    }
    return resolver
  }

  /** PAG layer patterns, or undefined when PAG is not enabled. */
  get pagAppliedLayers(): readonly string[] | undefined {
    return this.#pagLayers
  }

  /** Module paths the PAG patterns select (empty without PAG). */
  get pagLayersResolved(): readonly string[] {
    return this.#pagLayers === undefined ? [] : this.layerResolver.resolve(this.#pagLayers, "self-attention")
  }

  /**
   * Changes the PAG layers (and optionally how patterns are read); takes effect on the next call. Only control
   * input values change: no session is rebuilt. A pattern matching nothing, or an empty list, fails here.
   * @example
   * pipe.setPagAppliedLayers(["down.block_2", "up.block_1.attentions_0"])
   */
  setPagAppliedLayers(layers: string | readonly string[], options: { readonly matching?: LayerMatching } = {}): ResolvedLayers {
    const list = typeof layers === "string" ? [layers] : layers
    if (!Array.isArray(list) || list.some((l) => typeof l !== "string")) {
      throw new InvalidOptionError(`pagAppliedLayers: expected a pattern or a list of patterns such as "mid", found ${JSON.stringify(layers)}.`)
    }
    if (!this.denoiserOf(this.host.model).hookKinds.includes(IDENTITY_ATTENTION)) {
      throw new PipelineError(
        "PAG_NOT_INSTALLED",
        `this pipeline's denoiser has no ${IDENTITY_ATTENTION} hook, so PAG layers cannot be set. Load it with { enablePag: true }.`,
      )
    }
    const previous = this.#matching
    if (options.matching !== undefined) this.#matching = options.matching
    try {
      const patterns = list as readonly string[]
      const resolved = { layers: this.layerResolver.resolve(patterns, "self-attention"), notes: this.layerResolver.notes(patterns, "self-attention") }
      this.#pagLayers = Object.freeze([...patterns])
      return resolved
    } catch (error) {
      this.#matching = previous
      throw error
    }
  }

  /** Clears the PAG layers (a pipeline without PAG), as `fromPipe(…, { enablePag: false })` builds it. */
  protected disablePag(): void {
    this.#pagLayers = undefined
  }

  /** The target type of a hook kind (from the installed hooks, else the catalogue). */
  targetOf(kind: string): LayerTarget {
    const installed = this.denoiserOf(this.host.model).hook(kind)?.target
    return installed ?? this.hookCatalogue.get(kind)?.target ?? "self-attention"
  }

  /** The call's guidance chain: a given chain, a JSON chain built with the catalogue, or diffusers' scalar options. */
  chainFor(call: Call): GuidanceChain {
    return guidanceFromOptions(call, { guidanceScale: this.defaultGuidanceScale, pagLayers: this.#pagLayers }, this.guidanceCatalogue)
  }

  /** Installs every hook kind the chain declares that the denoiser lacks, and resolves its patterns (fails early). */
  async prepareHooks(chain: GuidanceChain): Promise<void> {
    const specs = chain.hooks
    if (specs.length === 0) return
    await this.host.ensure(
      specs.map((s) => s.kind),
      this.hookCatalogue,
      (kind) => `guidance "${specs.find((s) => s.kind === kind)?.branch ?? kind}"`,
    )
    for (const spec of specs) this.layerResolver.resolve(spec.targets, this.targetOf(spec.kind))
  }

  /** Runs the pipeline. */
  async run(call: Call): Promise<Out> {
    if (call === null || typeof call !== "object") throw new InvalidOptionError(`${this.className}.run: expected an options object, found ${String(call)}.`)
    this.checkCall(call)
    const chain = this.chainFor(call)
    await this.prepareHooks(chain)
    const generatorGiven = (call as { generator?: TorchGenerator | readonly TorchGenerator[] }).generator
    const seed = generatorGiven === undefined ? (call.seed ?? randomSeed()) : undefined
    const generator = generatorGiven ?? new TorchGenerator(seed!)
    const run = await this.prepareRun(call, { chain, generator, seed })
    for (const warning of run.warnings) call.onWarning?.(warning)

    const session = this.denoiserOf(this.host.model).session
    if (session instanceof SplitSession) session.execution = call.execution ?? "full"
    const resolver = this.layerResolver
    const targetOf = (kind: string): LayerTarget => this.targetOf(kind)
    const used = new Map<string, { kind: string; patterns: readonly string[] }>()
    const hooked = new Map<string, Set<string>>()
    const latents = await runDenoisingLoop({
      scheduler: run.scheduler,
      chain,
      timesteps: run.timesteps,
      latents: run.latents,
      generator: run.generator,
      ...(call.eta === undefined ? {} : { eta: call.eta }),
      ...(call.passes === undefined ? {} : { passes: call.passes }),
      ...(call.allowNonFinite === undefined ? {} : { allowNonFinite: call.allowNonFinite }),
      denoise: (pass, modelInput, ctx) => {
        const hooks = pass.rows.map((row) => {
          const resolved = resolver.rowHooks(row.hooks, targetOf)
          for (const [kind, activation] of Object.entries(row.hooks)) {
            const patterns = Array.isArray(activation) ? (activation as readonly string[]) : (activation as { layers: readonly string[] }).layers
            used.set(`${kind}|${JSON.stringify(patterns)}`, { kind, patterns })
          }
          for (const [kind, activation] of Object.entries(resolved ?? {})) {
            const set = hooked.get(kind) ?? new Set<string>()
            for (const layer of (activation as RowActivation).layers) set.add(layer)
            hooked.set(kind, set)
          }
          return resolved
        })
        return run.denoise(pass, modelInput, ctx, hooks)
      },
      ...(run.toSchedulerOutput === undefined ? {} : { toSchedulerOutput: run.toSchedulerOutput }),
      ...(run.afterStep === undefined ? {} : { afterStep: run.afterStep }),
      ...(call.onStep === undefined ? {} : { onStep: call.onStep }),
      ...(call.signal === undefined ? {} : { signal: call.signal }),
    })
    const notes = [...new Set([...used.values()].flatMap(({ kind, patterns }) => resolver.notes(patterns, targetOf(kind))))]
    for (const note of notes) call.onWarning?.(note)
    const warnings = [...run.warnings, ...notes]
    const hookedLayers: Record<string, readonly string[]> = {}
    for (const [kind, layers] of hooked) hookedLayers[kind] = Object.freeze(resolver.sites(targetOf(kind)).filter((l) => layers.has(l)))
    const parts = { latents, seed, warnings, hookedLayers }
    if (call.outputType === "latent") return this.makeOutput({ ...parts, images: undefined })
    if (call.signal?.aborted === true) throw new AbortedError(run.timesteps.length, run.timesteps.length)
    const images = assertFiniteImages(await run.decode(latents), { allowNonFinite: call.allowNonFinite })
    return this.makeOutput({ ...parts, images })
  }
}
