import { Tensor, concat } from "@pagkit/tensor"
import { hookFeeds } from "@pagkit/onnx"
import type { FeedContext, HookKind, InstalledHook, LayerIndex, RowActivation } from "@pagkit/onnx"
import { ModelInputError } from "./errors.js"
import { asFloat32 } from "./internal/batch.js"
import { describeSessionIo, sessionInput } from "./session.js"
import type { SessionLike } from "./session.js"

/** A gate-only hook installed in a denoiser graph (shorthand for an {@link InstalledHook} with one `"gates"` input). */
export interface HookGateInput {
  /** Hook kind, e.g. `IDENTITY_ATTENTION` (PAG). */
  readonly kind: string
  /** Graph input carrying the gates, `float[batch, layers]`, e.g. `"pag_gates"`. */
  readonly inputName: string
  /** Module paths, in gate column order. */
  readonly layers: readonly string[]
}

/**
 * Per-row hook activations: hook kind → resolved site paths switched on for that row (value 1), or paths with the
 * row's value there (a parameter such as a blur sigma).
 */
export type RowHooks = Readonly<Record<string, readonly string[] | RowActivation>>

/** `[height, width]` token grid of a site for a sample shape (see `FeedContext.tokenGrid`). */
export type TokenGrid = (site: string, sampleShape: readonly number[]) => readonly [number, number] | undefined

function rowActivation(activation: readonly string[] | RowActivation | undefined): RowActivation | undefined {
  if (activation === undefined) return undefined
  return Array.isArray(activation) ? { layers: activation as readonly string[] } : (activation as RowActivation)
}

/** One batched denoiser call. */
export interface DenoiserBatch {
  /** Per-row model inputs by graph input name, each `[B, …]` (sample, encoder_hidden_states, …). */
  readonly inputs: Readonly<Record<string, Tensor>>
  /** The scheduler timestep (a number), or a ready tensor fed as is. */
  readonly timestep: number | Tensor
  /** Hook activations per row (length B); rows without an entry run the plain model (gates 0). */
  readonly hooks?: readonly (RowHooks | undefined)[] | undefined
  /** Inputs that are not per row (e.g. a scalar `conditioning_scale`). */
  readonly shared?: Readonly<Record<string, Tensor>> | undefined
}

/** One row of a call given row by row; tensors are `[1, …]`. */
export interface DenoiserRow {
  readonly inputs: Readonly<Record<string, Tensor>>
  readonly hooks?: RowHooks | undefined
}

/** Options of {@link HookableDenoiser}. */
export interface HookableDenoiserOptions {
  /** The (hooked) ONNX denoiser: one session serves every pipeline sharing the model. */
  readonly session: SessionLike
  /** Hooks installed in the graph (what `loadHookedModel` reports). */
  readonly hooks?: readonly InstalledHook[]
  /** The kinds behind {@link hooks}, for kinds that build their own control inputs (`HookKind.feeds`). */
  readonly kinds?: readonly HookKind[]
  /** Gate-only hooks given by input name (shorthand; merged with {@link hooks}). */
  readonly gates?: readonly HookGateInput[]
  /** Token grid of a site for a sample shape, for kinds that need it (a family knows its down-sampling). */
  readonly tokenGrid?: TokenGrid
  /** The per-row input whose shape kinds see as `FeedContext.sampleShape`. Default `"sample"` or the first input. */
  readonly sampleInput?: string
  /** Name used in messages, e.g. `"unet"`. */
  readonly name?: string
  /** Timestep input name. Default `"timestep"`. */
  readonly timestepInput?: string
  /** Output to return. Default `out_sample` or the first output. */
  readonly outputName?: string
  /** The graph's layer index (module paths), for resolving layer patterns. */
  readonly layerIndex?: LayerIndex | undefined
  /** Inputs fed when a call does not give them (e.g. zero IP-Adapter scales of an installed hook). */
  readonly defaultInputs?: Readonly<Record<string, Tensor>>
}

/**
 * A denoiser (UNet / transformer) that runs a batch of rows, each with its own conditioning and its own hook
 * gates. It knows nothing about guidance formulas: callers lay rows out, this class feeds the graph, converting
 * the timestep to the shape and type the graph declares and building gate tensors `[batch, layers]`.
 *
 * @example
 * const hooked = await loadHookedModel("unet/model.onnx", { hooks: [identityAttention()] })
 * const denoiser = new HookableDenoiser(hookedDenoiserOptions(hooked))
 * const eps = await denoiser.runBatch({
 *   inputs: { sample, encoder_hidden_states, text_embeds, time_ids },
 *   timestep: 801,
 *   hooks: [undefined, undefined, { [IDENTITY_ATTENTION]: ["mid_block.attentions.0.transformer_blocks.0.attn1"] }],
 * })
 */
export class HookableDenoiser {
  readonly session: SessionLike
  /** Hooks installed in the graph, each with its control inputs. */
  readonly hooks: readonly InstalledHook[]
  readonly name: string
  readonly timestepInput: string
  readonly outputName: string
  /** Layer index of the graph, when it was hooked (or indexed) at load. */
  readonly layerIndex: LayerIndex | undefined
  readonly defaultInputs: Readonly<Record<string, Tensor>>
  readonly #kinds: ReadonlyMap<string, HookKind>
  readonly #tokenGrid: TokenGrid | undefined
  readonly #sampleInput: string | undefined

  constructor(options: HookableDenoiserOptions) {
    this.session = options.session
    this.layerIndex = options.layerIndex
    this.defaultInputs = options.defaultInputs ?? {}
    const fromGates = (options.gates ?? []).map(
      (g): InstalledHook => ({ kind: g.kind, layers: g.layers, inputs: [{ name: g.inputName, layout: "gates", description: `${g.kind} gates` }] }),
    )
    this.hooks = [...(options.hooks ?? []), ...fromGates]
    this.#kinds = new Map((options.kinds ?? []).map((k) => [k.name, k]))
    this.#tokenGrid = options.tokenGrid
    this.#sampleInput = options.sampleInput
    this.name = options.name ?? "denoiser"
    this.timestepInput = options.timestepInput ?? "timestep"
    const outputs = this.session.outputs.map((o) => o.name)
    const outputName = options.outputName ?? (outputs.includes("out_sample") ? "out_sample" : outputs[0])
    if (outputName === undefined || !outputs.includes(outputName)) {
      throw new ModelInputError(`${this.name}: output "${String(outputName)}" not found; outputs are ${outputs.join(", ")}.`)
    }
    this.outputName = outputName
    for (const hook of this.hooks) {
      for (const input of hook.inputs) {
        if (!this.session.hasInput(input.name)) {
          throw new ModelInputError(
            `${this.name}: hook kind "${hook.kind}" expects ${input.layout} input "${input.name}", which the graph lacks. Install the hook on the graph before creating the session.`,
          )
        }
      }
    }
  }

  /** Hook kinds this graph supports. */
  get hookKinds(): readonly string[] {
    return this.hooks.map((h) => h.kind)
  }

  /** Names of the graph inputs that hooks drive (not model inputs a caller feeds). */
  get controlInputNames(): readonly string[] {
    return this.hooks.flatMap((h) => h.inputs.map((i) => i.name))
  }

  /** The installed hook of a kind, if any. */
  hook(kind: string): InstalledHook | undefined {
    return this.hooks.find((h) => h.kind === kind)
  }

  /** Site paths of a hook kind, in control column order (empty when the kind is not installed). */
  layers(kind: string): readonly string[] {
    return this.hook(kind)?.layers ?? []
  }

  /**
   * Control inputs of every installed hook for a batch of rows (gates, per-row parameters, or what a kind's own
   * `feeds` builds), with errors naming the denoiser when a row names a site the kind does not cover.
   */
  controlFeeds(rows: readonly (RowHooks | undefined)[], sampleShape: readonly number[]): Record<string, Tensor> {
    const tokenGrid = this.#tokenGrid
    const context: FeedContext = tokenGrid === undefined ? { sampleShape } : { sampleShape, tokenGrid: (site) => tokenGrid(site, sampleShape) }
    const feeds: Record<string, Tensor> = {}
    for (const hook of this.hooks) {
      if (hook.inputs.every((i) => i.layout === "scales")) continue
      const activations = rows.map((row) => rowActivation(row?.[hook.kind]))
      const sites = new Set(hook.layers)
      for (const activation of activations) {
        const unknown = (activation?.layers ?? []).find((layer) => !sites.has(layer))
        if (unknown !== undefined) {
          throw new ModelInputError(
            `${this.name}: layer "${unknown}" has no "${hook.kind}" hook; hooked ${hook.target ?? "self-attention"} sites are ${hook.layers.join(", ")}.`,
          )
        }
      }
      Object.assign(feeds, hookFeeds(this.#kinds.get(hook.kind), hook, activations, context))
    }
    return feeds
  }

  /**
   * The timestep as the graph declares it: rank 0, `[1]`, or `[batch]`; int64 values are truncated like
   * numpy's `astype(int64)`, float types get the value as is (float16 conversion is the session's).
   */
  timestepFeed(timestep: number, batch: number): Tensor {
    const info = sessionInput(this.session, this.timestepInput)
    if (info === undefined) {
      throw new ModelInputError(`${this.name}: the graph has no "${this.timestepInput}" input.`)
    }
    const shape = info.shape.length === 0 ? [] : [typeof info.shape[0] === "number" ? info.shape[0] : batch]
    const size = shape.length === 0 ? 1 : shape[0]!
    if (info.dtype === "int64") return new Tensor("int64", new BigInt64Array(size).fill(BigInt(Math.trunc(timestep))), shape)
    if (info.dtype === "int32") return new Tensor("int32", new Int32Array(size).fill(Math.trunc(timestep)), shape)
    if (info.dtype === "float64") return new Tensor("float64", new Float64Array(size).fill(timestep), shape)
    return new Tensor("float32", new Float32Array(size).fill(timestep), shape)
  }

  /** Runs one batched call and returns the prediction `[B, …]` (float32). */
  async runBatch(batch: DenoiserBatch): Promise<Tensor<"float32">> {
    const entries = Object.entries(batch.inputs)
    const rows = entries[0]?.[1].shape[0]
    if (rows === undefined) throw new ModelInputError(`${this.name}: a denoiser call needs per-row inputs (sample, …).`)
    for (const [name, t] of entries) {
      if (t.shape[0] !== rows) {
        throw new ModelInputError(
          `${this.name}: per-row input "${name}" has ${t.shape[0]} rows (${t.describe()}), but "${entries[0]![0]}" has ${rows}. Every per-row input needs the same batch size.`,
        )
      }
    }
    const hooks = batch.hooks ?? []
    if (hooks.length !== 0 && hooks.length !== rows) {
      throw new ModelInputError(`${this.name}: hooks are given for ${hooks.length} rows, but the batch has ${rows}.`)
    }
    for (const row of hooks) {
      for (const kind of Object.keys(row ?? {})) {
        if ((rowActivation(row?.[kind])?.layers.length ?? 0) > 0 && this.hook(kind) === undefined) {
          throw new ModelInputError(
            `${this.name}: a row asks for hook kind "${kind}", which is not installed on this graph (installed: ${this.hookKinds.join(", ") || "none"}).`,
          )
        }
      }
    }
    const feeds: Record<string, Tensor> = { ...this.defaultInputs, ...batch.inputs, ...(batch.shared ?? {}) }
    feeds[this.timestepInput] =
      typeof batch.timestep === "number" ? this.timestepFeed(batch.timestep, rows) : batch.timestep
    const rowHooks = hooks.length === 0 ? Array.from({ length: rows }, () => undefined) : hooks
    const sample = (this.#sampleInput === undefined ? undefined : batch.inputs[this.#sampleInput]) ?? batch.inputs["sample"] ?? entries[0]![1]
    Object.assign(feeds, this.controlFeeds(rowHooks, sample.shape))
    for (const info of this.session.inputs) {
      if (feeds[info.name] === undefined) {
        throw new ModelInputError(
          `${this.name}: input ${describeSessionIo(info)} was not given; given: ${Object.keys(feeds).join(", ")}.`,
        )
      }
    }
    const result = await this.session.run(feeds, [this.outputName])
    return asFloat32(result[this.outputName]!, `${this.name} output ${this.outputName}`)
  }

  /** Runs rows given one by one (`[1, …]` tensors each): concatenated on the batch axis, then {@link runBatch}. */
  async runRows(
    rows: readonly DenoiserRow[],
    timestep: number | Tensor,
    shared?: Readonly<Record<string, Tensor>>,
  ): Promise<Tensor<"float32">> {
    const first = rows[0]
    if (first === undefined) throw new ModelInputError(`${this.name}: runRows needs at least one row.`)
    const inputs: Record<string, Tensor> = {}
    for (const name of Object.keys(first.inputs)) {
      inputs[name] = concat(
        rows.map((row) => {
          const t = row.inputs[name]
          if (t === undefined) throw new ModelInputError(`${this.name}: row is missing input "${name}".`)
          return t
        }),
        0,
      )
    }
    return this.runBatch({ inputs, timestep, hooks: rows.map((r) => r.hooks), shared })
  }
}
