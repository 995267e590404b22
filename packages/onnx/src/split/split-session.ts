// A session over a hooked model that runs rows sharing their inputs through a split: the prefix once per
// distinct row, the suffix on every row. Same inputs and outputs as the full hooked session.
import { performance } from "node:perf_hooks"
import * as ort from "onnxruntime-node"
import { Tensor } from "@pagkit/tensor"
import { HookError, InputError, RunError } from "../errors.js"
import type { HookKind } from "../hooks/hook-kind.js"
import type { HookedModel } from "../hooks/hooked-model.js"
import type { SessionOptions } from "../session/create-session.js"
import { fromOrtTensor, toOrtFeed } from "../session/convert.js"
import type { IoInfo } from "../session/io-info.js"
import { loadSplit } from "./load-split.js"
import type { LoadedSplit } from "./load-split.js"
import { splitWorthIt } from "./split-worth-it.js"
import type { SplitExecution } from "./split-worth-it.js"
import { distinctRows, gatherRows } from "./rows.js"
import { SPLIT_ROW_INDEX_INPUT } from "./fuse-split.js"

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
  /** Milliseconds in the split graph's session (split runs). */
  readonly splitMs?: number
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
   * Call it at load to pay the build before the first step. `perRowInputs` defaults to every input whose first
   * axis is symbolic (what `HookableDenoiser` feeds per row, the timestep included); a call that feeds another set
   * per row gets its own split graph.
   */
  async prepare(layers: Readonly<Record<string, readonly string[]>>, perRowInputs?: readonly string[]): Promise<LoadedSplit> {
    const declared = this.inputs
      .filter((i) => typeof i.shape[0] === "string" && !this.#gateInputs.has(i.name) && !this.#scaleInputs.has(i.name))
      .map((i) => i.name)
    const result = await this.#split(layers, new Set(perRowInputs ?? declared))
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
    const split = await this.#split(gates.layers, perRow)
    if (split instanceof Error) {
      if (this.execution === "split" || !(split instanceof HookError)) throw split
      return full(`not splittable: ${split.message}`, distinct)
    }
    const runSplit = (): Promise<Record<string, Tensor>> =>
      this.#runSplit(split, feeds, { perRow, groups, distinct, rows: gates.rows, layers: gates.layers }, outputNames)
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
    const ortFeeds: Record<string, ort.Tensor> = {}
    for (const name of split.session.inputNames) {
      if (name === SPLIT_ROW_INDEX_INPUT) {
        ortFeeds[name] = new ort.Tensor("int64", BigInt64Array.from(plan.groups, (g) => BigInt(g)), [plan.rows])
        continue
      }
      const gate = this.#gateInputs.get(name)
      const fed = feeds[name]
      if (fed === undefined && gate === undefined) throw this.#missing(name, feeds)
      const tensor = fed ?? Tensor.zeros([plan.rows, gate!.layers.length])
      ortFeeds[name] = toOrtFeed(plan.perRow.has(name) ? gatherRows(tensor, representatives) : tensor, this.#info(name))
    }
    const fetches = outputNames ?? this.outputs.map((o) => o.name)
    const t0 = performance.now()
    let results: ort.InferenceSession.ReturnType
    try {
      results = await split.session.run(ortFeeds, [...fetches])
    } catch (error) {
      throw new RunError(
        "ONNX_RUN_FAILED",
        `onnxruntime failed to run the split graph for ${JSON.stringify(plan.layers)} (rows ${plan.rows}, distinct ${plan.distinct}): ${String((error as Error).message ?? error)}. Use execution "full" for this model.`,
        { cause: error },
      )
    }
    this.lastRun = {
      execution: "split",
      reason: this.execution === "split" ? 'execution "split"' : "cost model",
      rows: plan.rows,
      distinctRows: plan.distinct,
      layers: plan.layers,
      splitMs: performance.now() - t0,
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

  #split(layers: Readonly<Record<string, readonly string[]>>, perRow: ReadonlySet<string>): SplitEntry {
    const key = JSON.stringify([
      Object.entries(layers)
        .filter(([, p]) => p.length > 0)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, p]) => [k, [...p].sort()]),
      [...perRow].sort(),
    ])
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
      perRowInputs: [...perRow],
      sessionOptions: this.#options.sessionOptions,
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
  await split.session.release()
}
