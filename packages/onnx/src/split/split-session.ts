// A session over a hooked model that runs rows sharing their inputs through a split: the prefix once per
// distinct row, the suffix on every row. Same inputs and outputs as the full hooked session.
import { performance } from "node:perf_hooks"
import type * as ort from "onnxruntime-node"
import { Tensor } from "@pagkit/tensor"
import { HookError, InputError } from "../errors.js"
import type { HookKind } from "../hooks/hook-kind.js"
import type { HookedModel } from "../hooks/hooked-model.js"
import type { SessionOptions } from "../session/create-session.js"
import { fromOrtTensor, toOrtFeed } from "../session/convert.js"
import type { IoInfo } from "../session/io-info.js"
import { loadSplit } from "./load-split.js"
import type { LoadSplitOptions, LoadedSplit } from "./load-split.js"
import { splitWorthIt } from "./split-worth-it.js"
import type { SplitExecution } from "./split-worth-it.js"
import { allRowBuffers, distinctRows, expandRows, gatherRows } from "./rows.js"
import type { AllRowBuffers } from "./rows.js"

/** Options of {@link SplitSession}. */
export interface SplitSessionOptions {
  /** The original model file the hooked model was loaded from (`loadHookedModel`'s `source`). */
  readonly source: string
  /** The hook kinds it was loaded with (`loadHookedModel`'s `hooks`). */
  readonly hooks: readonly HookKind[]
  /**
   * `"auto"` (default): when {@link splitWorthIt}'s structural estimate allows it, time both paths on the first
   * calls of each call shape (`trials` each, alternating) and keep the faster; `"split"`: whenever rows share
   * inputs; `"full"`: never. Both paths give the same outputs (≤ 1e-6 relative L2 per row; bit-identical on the
   * tiny models), so the choice changes time, not results.
   */
  readonly execution?: SplitExecution
  /** Hook cache folder for split graphs (the one given to `loadHookedModel`); default: none. */
  readonly cacheDir?: string | undefined
  /** Session options of the split graphs; give the full model's (threads, providers). */
  readonly sessionOptions?: SessionOptions | undefined
  /** Splits kept loaded (least recently used ones are released). Default 4. */
  readonly maxSplits?: number
  /** onnxruntime's memory arena for the split sessions (default true); see {@link LoadSplitOptions.memoryArena}. */
  readonly memoryArena?: boolean
  /** Calls of each path timed per call shape before `"auto"` keeps the faster one. Default 2. */
  readonly trials?: number
  /** Prefix share of a row's time for the cost model; default: the split's structural estimate (`stats.prefixMatMulShare`). */
  readonly prefixFraction?: number
}

/** What the last {@link SplitSession.run} did, for reports and benchmarks. */
export interface SplitRunReport {
  readonly execution: "split" | "full"
  /** Why, in words (`"no row shares its inputs"`, `"cost model"`, …). */
  readonly reason: string
  readonly rows: number
  readonly distinctRows: number
  /** Perturbed layers by hook kind (gates that are non-zero in some row). */
  readonly layers: Readonly<Record<string, readonly string[]>>
  /** Milliseconds in the prefix and suffix sessions (split runs). */
  readonly prefixMs?: number
  readonly suffixMs?: number
}

type SplitEntry = Promise<LoadedSplit | Error>

/**
 * Runs a hooked model like its own session (same `inputs`, `outputs`, `run`), but when the rows of a call
 * perturb some layers and some rows have identical inputs (PAG's perturbed row is the cond row), it runs the
 * split for those layers: the prefix on the distinct rows only, the cond row's crossing tensors duplicated for the
 * perturbed row, then the suffix on all rows with the real gates. Outputs equal the full run's (float32, relative
 * L2 ≤ 1e-6 per row in the tests). Splits are built on first use of a layer set (or with {@link prepare}) and
 * cached in memory and in `cacheDir`.
 *
 * Rows: per-row feeds are those whose first axis has the call's batch size (the gate inputs' first axis) and is
 * symbolic in the model; everything else (`"scales"` inputs, scalars) is shared. Crossing tensors that depend on a
 * per-row input must have the batch as their outermost axis (true of UNet and DiT exports).
 *
 * @example
 * const hooked = await loadHookedModel(unetPath, { hooks: [identityAttention()], cacheDir })
 * const session = new SplitSession(hooked, { source: unetPath, hooks: [identityAttention()], cacheDir })
 * const denoiser = new HookableDenoiser({ ...hookedDenoiserOptions(hooked), session }) // @pagkit/models-core
 */
export class SplitSession {
  readonly path: string | undefined = undefined
  readonly inputs: readonly IoInfo[]
  readonly outputs: readonly IoInfo[]
  readonly full: HookedModel
  /** Execution mode for the next calls. */
  execution: SplitExecution
  /** What the last call did. */
  lastRun: SplitRunReport | undefined
  readonly #options: SplitSessionOptions
  readonly #splits = new Map<string, SplitEntry>()
  readonly #gateInputs: Map<string, { kind: string; layers: readonly string[] }>
  readonly #scaleInputs: Set<string>
  /** Per split and call shape: reusable all-row buffers of the per-row crossing tensors. */
  readonly #buffers = new WeakMap<LoadedSplit, Map<string, AllRowBuffers | undefined>>()
  /** Split runs one at a time: they reuse buffers between the prefix and the suffix call. */
  #queue: Promise<unknown> = Promise.resolve()
  /** `"auto"`: wall-clock milliseconds of each path, per call shape. */
  readonly #trials = new Map<string, { split: number[]; full: number[] }>()

  constructor(full: HookedModel, options: SplitSessionOptions) {
    this.full = full
    this.#options = options
    this.execution = options.execution ?? "auto"
    this.inputs = full.session.inputs
    this.outputs = full.session.outputs
    this.#gateInputs = new Map()
    this.#scaleInputs = new Set()
    for (const hook of full.hooks) {
      for (const input of hook.inputs) {
        if (input.layout === "gates") this.#gateInputs.set(input.name, { kind: hook.kind, layers: hook.layers })
        else this.#scaleInputs.add(input.name)
      }
    }
  }

  /** True when the model has an input of this name. */
  hasInput(name: string): boolean {
    return this.full.session.hasInput(name)
  }

  /**
   * The split for a set of perturbed layers (by hook kind): built, or read from the cache, once and kept loaded.
   * Call it at load to pay the build before the first step.
   */
  async prepare(layers: Readonly<Record<string, readonly string[]>>): Promise<LoadedSplit> {
    const result = await this.#split(layers)
    if (result instanceof Error) throw result
    return result
  }

  /** Runs the model; see the class description for when it splits. */
  async run(feeds: Readonly<Record<string, Tensor>>, outputNames?: readonly string[]): Promise<Record<string, Tensor>> {
    const gates = this.#readGates(feeds)
    const full = async (reason: string, distinct = gates.rows): Promise<Record<string, Tensor>> => {
      this.lastRun = { execution: "full", reason, rows: gates.rows, distinctRows: distinct, layers: gates.layers }
      return this.full.run(feeds, outputNames)
    }
    if (this.execution === "full") return full('execution "full"')
    if (gates.rows < 2 || Object.keys(gates.layers).length === 0) return full("no layer is perturbed")
    const perRow = this.#perRowInputs(feeds, gates.rows)
    const groups = distinctRows(feeds, perRow, gates.rows)
    const distinct = Math.max(...groups) + 1
    if (distinct === gates.rows && this.execution === "auto") return full("no row shares its inputs")
    const split = await this.#split(gates.layers)
    if (split instanceof Error) {
      if (this.execution === "split" || !(split instanceof HookError)) throw split
      return full(`not splittable: ${split.message}`, distinct)
    }
    const runSplit = (): Promise<Record<string, Tensor>> => {
      const run = this.#queue.then(() =>
        this.#runSplit(split, feeds, { perRow, groups, distinct, rows: gates.rows, layers: gates.layers }, outputNames),
      )
      this.#queue = run.catch(() => undefined)
      return run
    }
    if (this.execution === "split") return runSplit()
    // auto: the structural estimate rules out splits that cannot pay; then the first calls of each call shape
    // time both paths (alternating) and the faster one is kept
    const prefixFraction = this.#options.prefixFraction ?? split.stats.prefixMatMulShare
    if (splitWorthIt({ prefixFraction, rows: gates.rows, distinctRows: distinct }) === "full") {
      return full("cost model (structural estimate)", distinct)
    }
    const key = JSON.stringify([gates.layers, groups, Object.entries(feeds).map(([n, t]) => [n, t.shape])])
    const trial = this.#trials.get(key) ?? { split: [], full: [] }
    this.#trials.set(key, trial)
    const trials = this.#options.trials ?? 2
    const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    const decided = trial.split.length >= trials && trial.full.length >= trials
    const useSplit = decided ? median(trial.split) <= median(trial.full) : trial.split.length <= trial.full.length
    const started = performance.now()
    const result = useSplit ? await runSplit() : await full("timing both paths", distinct)
    if (!decided) (useSplit ? trial.split : trial.full).push(performance.now() - started)
    else if (this.lastRun !== undefined) {
      this.lastRun = { ...this.lastRun, reason: `measured: split ${median(trial.split).toFixed(1)} ms, full ${median(trial.full).toFixed(1)} ms` }
    }
    return result
  }

  /** Releases every loaded split and the full model's session. */
  async release(): Promise<void> {
    const entries = [...this.#splits.values()]
    this.#splits.clear()
    await Promise.all(entries.map(async (entry) => releaseSplit(await entry)))
    await this.full.release()
  }

  async #runSplit(
    split: LoadedSplit,
    feeds: Readonly<Record<string, Tensor>>,
    plan: { perRow: Set<string>; groups: number[]; distinct: number; rows: number; layers: Readonly<Record<string, readonly string[]>> },
    outputNames?: readonly string[],
  ): Promise<Record<string, Tensor>> {
    const representatives = plan.groups.flatMap((g, r) => (plan.groups.indexOf(g) === r ? [r] : []))
    const prefixFeeds: Record<string, ort.Tensor> = {}
    for (const name of split.prefixInputs) {
      const gate = this.#gateInputs.get(name)
      const fed = feeds[name]
      let tensor: Tensor
      if (gate !== undefined) tensor = Tensor.zeros([plan.distinct, gate.layers.length]) // prefix reads only unperturbed gates
      else if (fed === undefined) throw this.#missing(name, feeds)
      else tensor = plan.perRow.has(name) ? gatherRows(fed, representatives) : fed
      prefixFeeds[name] = toOrtFeed(tensor, this.#info(name))
    }
    const perRowCrossing = split.crossing.filter((c) => c.dependsOn.some((name) => plan.perRow.has(name)))
    // When the distinct rows come first and an earlier call had the same shapes, the prefix writes its per-row
    // outputs straight into the first rows of reused all-row buffers; only the shared rows are copied afterwards
    // (no fresh allocation, page faults or garbage per step).
    const signature = JSON.stringify([split.prefixInputs.map((n) => prefixFeeds[n]!.dims), [...plan.perRow].sort(), plan.rows])
    const cache = this.#buffers.get(split) ?? new Map<string, AllRowBuffers | undefined>()
    this.#buffers.set(split, cache)
    const buffers = representatives.every((r, i) => r === i) ? cache.get(signature) : undefined
    const fetchAll = split.crossing.map((c) => c.name)
    const t0 = performance.now()
    const crossing = await split.prefix.run(
      prefixFeeds,
      buffers === undefined ? fetchAll : { ...Object.fromEntries(fetchAll.map((n) => [n, null])), ...buffers.fetches },
    )
    const t1 = performance.now()
    if (!cache.has(signature)) {
      const dims = new Map(perRowCrossing.map((c) => [c.name, crossing[c.name]!.dims]))
      cache.set(signature, allRowBuffers(perRowCrossing, dims, plan.distinct, plan.rows))
    }
    const suffixFeeds: Record<string, ort.Tensor> = {}
    for (const c of split.crossing) {
      const filled = buffers?.fill(c.name, plan.groups)
      const value = crossing[c.name]!
      const perRow = perRowCrossing.includes(c)
      suffixFeeds[c.name] = filled ?? (perRow ? expandRows(value, plan.groups, plan.distinct, c.name) : value)
    }
    for (const name of split.suffixInputs) {
      const fed = feeds[name]
      const gate = this.#gateInputs.get(name)
      if (fed === undefined && gate === undefined) throw this.#missing(name, feeds)
      suffixFeeds[name] = toOrtFeed(fed ?? Tensor.zeros([plan.rows, gate!.layers.length]), this.#info(name))
    }
    const fetches = outputNames ?? this.outputs.map((o) => o.name)
    const t2 = performance.now()
    const results = await split.suffix.run(suffixFeeds, [...fetches])
    const t3 = performance.now()
    this.lastRun = {
      execution: "split",
      reason: this.execution === "split" ? 'execution "split"' : "cost model",
      rows: plan.rows,
      distinctRows: plan.distinct,
      layers: plan.layers,
      prefixMs: t1 - t0,
      suffixMs: t3 - t2,
    }
    const keepFloat16 = this.#options.sessionOptions?.keepFloat16Outputs === true
    const out: Record<string, Tensor> = {}
    for (const name of fetches) out[name] = fromOrtTensor(results[name]!, name, { keepFloat16 })
    return out
  }

  #info(name: string): IoInfo {
    return this.full.session.input(name)!
  }

  #missing(name: string, feeds: Readonly<Record<string, Tensor>>): InputError {
    const info = this.full.session.input(name)
    return new InputError(
      "ONNX_INPUT_MISSING",
      name,
      `the hooked model needs input "${name}" (${info === undefined ? "unknown" : `${info.dtype}[${info.shape.join(", ")}]`}) but it was not fed; fed: ${Object.keys(feeds).join(", ") || "nothing"}.`,
    )
  }

  /** Rows of the call and the layers whose gates are non-zero in some row. */
  #readGates(feeds: Readonly<Record<string, Tensor>>): { rows: number; layers: Record<string, string[]> } {
    let rows = 0
    const layers: Record<string, string[]> = {}
    for (const [name, gate] of this.#gateInputs) {
      const fed = feeds[name]
      if (fed === undefined) continue
      const [batch = 0, width = 0] = fed.shape
      if (fed.rank !== 2 || width !== gate.layers.length) {
        throw new InputError(
          "ONNX_INPUT_INVALID",
          name,
          `gate input "${name}" must be [batch, ${gate.layers.length}], found ${fed.describe()}. Build it with HookedModel.gates.`,
        )
      }
      rows = Math.max(rows, batch)
      const active = new Set<number>()
      const data = fed.data
      for (let i = 0; i < data.length; i++) if (Number(data[i]) !== 0) active.add(i % width)
      if (active.size > 0) layers[gate.kind] = [...active].sort((a, b) => a - b).map((j) => gate.layers[j]!)
    }
    return { rows, layers }
  }

  /** Names of feeds that are per row: first axis = rows and symbolic in the model, not a gate or scales input. */
  #perRowInputs(feeds: Readonly<Record<string, Tensor>>, rows: number): Set<string> {
    const perRow = new Set<string>()
    for (const [name, tensor] of Object.entries(feeds)) {
      if (this.#gateInputs.has(name) || this.#scaleInputs.has(name)) continue
      const declared = this.full.session.input(name)?.shape[0]
      if (tensor.rank >= 1 && tensor.shape[0] === rows && typeof declared === "string") perRow.add(name)
    }
    return perRow
  }

  #split(layers: Readonly<Record<string, readonly string[]>>): SplitEntry {
    const key = JSON.stringify(
      Object.entries(layers)
        .filter(([, p]) => p.length > 0)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, p]) => [k, [...p].sort()]),
    )
    const found = this.#splits.get(key)
    if (found !== undefined) {
      this.#splits.delete(key) // most recently used last
      this.#splits.set(key, found)
      return found
    }
    const entry: SplitEntry = loadSplit({
      source: this.#options.source,
      hooks: this.#options.hooks,
      layers,
      cacheDir: this.#options.cacheDir,
      sessionOptions: this.#options.sessionOptions,
      memoryArena: this.#options.memoryArena,
    }).catch((error: unknown) => {
      // a graph that cannot be split stays marked; anything else (a missing file, a load failure) is retried
      if (!(error instanceof HookError)) this.#splits.delete(key)
      return error instanceof Error ? error : new Error(String(error))
    })
    this.#splits.set(key, entry)
    const max = this.#options.maxSplits ?? 4
    while (this.#splits.size > max) {
      const [oldest, evicted] = this.#splits.entries().next().value as [string, SplitEntry]
      this.#splits.delete(oldest)
      void evicted.then(releaseSplit)
    }
    return entry
  }
}

async function releaseSplit(split: LoadedSplit | Error): Promise<void> {
  if (split instanceof Error) return
  await Promise.all([split.prefix.release(), split.suffix.release()])
}
