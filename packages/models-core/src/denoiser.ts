import { Tensor, concat } from "@pagkit/tensor"
import type { LayerIndex } from "@pagkit/onnx"
import { ModelInputError } from "./errors.js"
import { asFloat32 } from "./internal/batch.js"
import { describeSessionIo, sessionInput } from "./session.js"
import type { SessionLike } from "./session.js"

/** One hook kind installed in a denoiser graph: its gate input and the module paths of its columns. */
export interface HookGateInput {
  /** Hook kind, e.g. `"identity-attention"` (PAG). */
  readonly kind: string
  /** Graph input carrying the gates, `float[batch, layers]`, e.g. `"pag_gates"`. */
  readonly inputName: string
  /** Module paths, in gate column order. */
  readonly layers: readonly string[]
}

/** Per-row hook activations: hook kind → module paths switched on for that row. */
export type RowHooks = Readonly<Record<string, readonly string[]>>

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
  /** Installed hook kinds (none for a plain graph). */
  readonly gates?: readonly HookGateInput[]
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
 * const denoiser = new HookableDenoiser({ session, gates: [{ kind: "identity-attention", inputName: "pag_gates", layers }] })
 * const eps = await denoiser.runBatch({
 *   inputs: { sample, encoder_hidden_states, text_embeds, time_ids },
 *   timestep: 801,
 *   hooks: [undefined, undefined, { "identity-attention": ["mid_block.attentions.0.transformer_blocks.0.attn1"] }],
 * })
 */
export class HookableDenoiser {
  readonly session: SessionLike
  readonly gates: readonly HookGateInput[]
  readonly name: string
  readonly timestepInput: string
  readonly outputName: string
  /** Layer index of the graph, when it was hooked (or indexed) at load. */
  readonly layerIndex: LayerIndex | undefined
  readonly defaultInputs: Readonly<Record<string, Tensor>>

  constructor(options: HookableDenoiserOptions) {
    this.session = options.session
    this.layerIndex = options.layerIndex
    this.defaultInputs = options.defaultInputs ?? {}
    this.gates = options.gates ?? []
    this.name = options.name ?? "denoiser"
    this.timestepInput = options.timestepInput ?? "timestep"
    const outputs = this.session.outputs.map((o) => o.name)
    const outputName = options.outputName ?? (outputs.includes("out_sample") ? "out_sample" : outputs[0])
    if (outputName === undefined || !outputs.includes(outputName)) {
      throw new ModelInputError(`${this.name}: output "${String(outputName)}" not found; outputs are ${outputs.join(", ")}.`)
    }
    this.outputName = outputName
    for (const gate of this.gates) {
      if (!this.session.hasInput(gate.inputName)) {
        throw new ModelInputError(
          `${this.name}: hook kind "${gate.kind}" expects gate input "${gate.inputName}", which the graph lacks. Install the hook on the graph before creating the session.`,
        )
      }
    }
  }

  /** Hook kinds this graph supports. */
  get hookKinds(): readonly string[] {
    return this.gates.map((g) => g.kind)
  }

  /** Module paths of a hook kind, in gate column order (empty when the kind is not installed). */
  layers(kind: string): readonly string[] {
    return this.gates.find((g) => g.kind === kind)?.layers ?? []
  }

  /** Gate tensor `[rows, layers]` for one hook kind: 1 where the row switches the layer on. */
  gateTensor(gate: HookGateInput, rows: readonly (RowHooks | undefined)[]): Tensor<"float32"> {
    const columns = new Map(gate.layers.map((layer, i) => [layer, i]))
    const data = new Float32Array(rows.length * gate.layers.length)
    rows.forEach((row, r) => {
      for (const layer of row?.[gate.kind] ?? []) {
        const column = columns.get(layer)
        if (column === undefined) {
          throw new ModelInputError(
            `${this.name}: layer "${layer}" has no "${gate.kind}" hook; hooked layers are ${gate.layers.join(", ")}.`,
          )
        }
        data[r * gate.layers.length + column] = 1
      }
    })
    return new Tensor("float32", data, [rows.length, gate.layers.length])
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
        if ((row?.[kind]?.length ?? 0) > 0 && !this.gates.some((g) => g.kind === kind)) {
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
    for (const gate of this.gates) feeds[gate.inputName] = this.gateTensor(gate, rowHooks)
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
