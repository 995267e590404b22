// `--scenario pag-cost`: what PAG's perturbed row costs on top of CFG, run in full and split (prefix shared by the
// cond and perturbed rows, one fused graph), as ratios of denoiser calls measured in one process, interleaved.
import { mkdtemp, rm, stat } from "node:fs/promises"
import os from "node:os"
import path from "node:path"
import * as ort from "onnxruntime-node"
import { SplitSession, identityAttention, loadHookedModel, resolveLayers } from "@pagkit/onnx"
import type { HookedModel } from "@pagkit/onnx"
import { Tensor, relativeL2, slice } from "@pagkit/tensor"
import { tinyModelPath } from "@pagkit/tiny-models"
import { BenchError } from "../errors.js"
import { pagkitSessionOptions, rawSessionOptions } from "../internal/config.js"
import { summarizeTimes } from "../internal/stats.js"
import type { TimeSummary } from "../internal/stats.js"
import { memorySnapshot, timeInterleaved, timeOnce } from "../internal/timing.js"

/** What `--scenario pag-cost` measures. */
export interface PagCostOptions {
  /** A model folder with `unet/` or `transformer/`, or a `model.onnx`. Default: tiny-sdxl. */
  readonly model: string
  /** Layer patterns (strict mode: `mid`, `down.block_2`, `up.block_0`, `transformer_blocks.10`); default per model. */
  readonly layers: readonly string[] | undefined
  /** Latent height and width (models with fixed spatial inputs use theirs). */
  readonly latent: readonly [number, number]
  readonly warmup: number
  readonly runs: number
}

/** The JSON `--scenario pag-cost --json` prints (times are medians in ms). */
export interface PagCostResult {
  readonly model: string
  readonly latent: readonly [number, number]
  readonly layers: readonly string[]
  readonly threads: number | "default"
  /** CFG step: the original (unhooked) graph, 2 rows. The baseline of the ratios. */
  readonly cfgStepMs: number
  /** The hooked graph with gates 0, 2 rows (a CFG-only step of a PAG-enabled pipeline). */
  readonly cfgHookedStepMs: number
  /** CFG + PAG, one hooked call of 3 rows. */
  readonly cfgPagFullStepMs: number
  /** CFG + PAG split: prefix on [uncond, cond], suffix on 3 rows. */
  readonly cfgPagSplitStepMs: number
  readonly ratioFull: number
  readonly ratioSplit: number
  /** Single row of the original graph (PAG-only baseline). */
  readonly singleStepMs: number
  readonly pagOnlyFullStepMs: number
  readonly pagOnlySplitStepMs: number
  readonly pagOnlyRatioFull: number
  readonly pagOnlyRatioSplit: number
  /** Rows of model time the split saved on the CFG + PAG call (CPU time): at most the prefix share of one row. */
  readonly savedRows: number
  /** The split's structural estimate (share of MatMul/Conv nodes in the prefix). */
  readonly prefixMatMulShare: number
  readonly crossingTensors: number
  /** Largest per-row relative L2 of split vs full outputs (CFG + PAG and PAG-only). */
  readonly maxRelL2: number
  /** Building the split without cache, and again from the on-disk cache. */
  readonly splitBuildMs: number
  readonly splitCachedLoadMs: number
  /** CPU-time medians of the same calls (less disturbed by other processes). */
  readonly cpu: { readonly cfg: number; readonly cfgPagFull: number; readonly cfgPagSplit: number; readonly ratioFull: number; readonly ratioSplit: number }
  readonly loadAverage: number
  readonly samples: Record<string, TimeSummary>
}

/** The denoiser graph of a model folder (`unet/` or `transformer/`) or a model file. */
export async function denoiserPath(model: string): Promise<string> {
  if (model.endsWith(".onnx")) return model
  for (const sub of ["unet", "transformer"]) {
    const file = path.join(model, sub, "model.onnx")
    if ((await stat(file).catch(() => undefined))?.isFile() === true) return file
  }
  throw new BenchError("BENCH_OPTION_INVALID", `--model "${model}" has no unet/model.onnx or transformer/model.onnx; pass a diffusers ONNX folder or a model.onnx.`)
}

/** Resolves `--model` names of the tiny fixtures (`tiny-sdxl`, `tiny-pixart-sigma`) or paths. */
export function modelFolder(model: string | undefined): string {
  if (model === undefined || model === "tiny-sdxl") return tinyModelPath("tiny-sdxl")
  if (model === "tiny-pixart-sigma") return tinyModelPath("tiny-pixart-sigma")
  return model
}

/** Values in [-1, 1) from a linear congruential generator. */
function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count)
  let state = seed >>> 0
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    out[i] = state / 2 ** 31 - 1
  }
  return out
}

/**
 * Denoiser inputs for `rows`, where `distinct[r]` picks row r's conditioning (rows with the same value are
 * identical, as the cond and perturbed rows are). Symbolic `height`/`width` take the latent size, other symbolic
 * dims 77 (sequence) or the batch; masks are ones, `time_ids` SDXL-like, the timestep 801.
 */
export function denoiserInputs(hooked: HookedModel, distinct: readonly number[], latent: readonly [number, number]): Record<string, Tensor> {
  const feeds: Record<string, Tensor> = {}
  const rows = distinct.length
  for (const info of hooked.session.inputs) {
    if (info.name === "pag_gates") continue
    const shape = info.shape.map((d, axis) => {
      if (typeof d === "number") return d
      if (axis === 0) return rows
      if (d === "height" || /_h$/.test(d)) return latent[0]
      if (d === "width" || /_w$/.test(d)) return latent[1]
      return 77
    })
    if (typeof info.shape[0] !== "string") {
      // shared inputs (scales, scalars): the same for every row
      const size = shape.reduce((a, b) => a * b, 1)
      feeds[info.name] = new Tensor("float32", info.name.includes("scale") ? new Float32Array(size).fill(0.6) : values(size, 7), shape)
      continue
    }
    const perRow = shape.slice(1).reduce((a, b) => a * b, 1)
    if (info.dtype === "int64") {
      feeds[info.name] = new Tensor("int64", new BigInt64Array(shape.reduce((a, b) => a * b, 1)).fill(801n), shape)
      continue
    }
    const data = new Float32Array(rows * perRow)
    distinct.forEach((d, r) => {
      const row = info.name.includes("mask")
        ? new Float32Array(perRow).fill(1)
        : info.name === "time_ids"
          ? Float32Array.from({ length: perRow }, (_, i) => [latent[0] * 8, latent[1] * 8, 0, 0, latent[0] * 8, latent[1] * 8][i % 6]!)
          : info.name === "timestep"
            ? new Float32Array(perRow).fill(801)
            : values(perRow, 1000 * d + info.name.length)
      data.set(row, r * perRow)
    })
    feeds[info.name] = new Tensor("float32", data, shape)
  }
  return feeds
}

function maxRowRelL2(actual: Tensor, expected: Tensor): number {
  let worst = 0
  for (let r = 0; r < expected.shape[0]!; r++) worst = Math.max(worst, relativeL2(slice(actual, 0, r, r + 1), slice(expected, 0, r, r + 1)))
  return worst
}

/** Default layers: `mid` for UNets, the second-to-last transformer block for DiTs. */
function defaultLayers(hooked: HookedModel): string[] {
  const layers = hooked.layers("identity-attention")
  if (layers.some((p) => p.startsWith("mid_block."))) return ["mid"]
  const blocks = layers.filter((p) => /^transformer_blocks\.\d+\.attn1$/.test(p))
  return [blocks[Math.max(0, blocks.length - 2)]!.replace(/\.attn1$/, "")]
}

/** Measures CFG, CFG + PAG full and split, single row, PAG-only full and split; checks split = full. */
export async function measurePagCost(options: PagCostOptions): Promise<PagCostResult> {
  const source = await denoiserPath(modelFolder(options.model))
  const hooks = [identityAttention()]
  const sessionOptions = pagkitSessionOptions()
  const hooked = await loadHookedModel(source, { hooks, ...sessionOptions })
  const patterns = options.layers ?? defaultLayers(hooked)
  const layers = [...resolveLayers(hooked.index, patterns, { mode: "strict" }).layers]
  const raw = await ort.InferenceSession.create(source, rawSessionOptions())
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), "pagkit-bench-split-"))
  try {
    const session = new SplitSession(hooked, { source, hooks, execution: "split", cacheDir, sessionOptions })
    const built = await session.prepare({ "identity-attention": layers })
    const reload = new SplitSession(hooked, { source, hooks, cacheDir, sessionOptions })
    const cached = await reload.prepare({ "identity-attention": layers })
    await cached.session.release()
    const spatial = (hooked.session.inputs[0]?.shape ?? []).slice(2)
    const latent: [number, number] = [
      typeof spatial[0] === "number" ? spatial[0] : options.latent[0],
      typeof spatial[1] === "number" ? spatial[1] : options.latent[1],
    ]
    const cfg = denoiserInputs(hooked, [0, 1], latent)
    const cfgPag = { ...denoiserInputs(hooked, [0, 1, 1], latent), pag_gates: hooked.gates("identity-attention", [[], [], layers]) }
    const single = denoiserInputs(hooked, [1], latent)
    const pagOnly = { ...denoiserInputs(hooked, [1, 1], latent), pag_gates: hooked.gates("identity-attention", [[], layers]) }
    const rawFeeds = (feeds: Record<string, Tensor>): Record<string, ort.Tensor> =>
      Object.fromEntries(
        raw.inputNames.map((name) => {
          const t = feeds[name]!
          return [name, new ort.Tensor(t.dtype === "int64" ? "int64" : "float32", t.data as Float32Array, [...t.shape])]
        }),
      )
    const rawCfg = rawFeeds(cfg)
    const rawSingle = rawFeeds(single)
    // equality first (also the warm-up of the split sessions)
    const fullOut = (await hooked.run(cfgPag))["out_sample"]!
    const splitOut = (await session.run(cfgPag))["out_sample"]!
    const fullPagOnly = (await hooked.run(pagOnly))["out_sample"]!
    const splitPagOnly = (await session.run(pagOnly))["out_sample"]!
    const maxRelL2 = Math.max(maxRowRelL2(splitOut, fullOut), maxRowRelL2(splitPagOnly, fullPagOnly))
    const samples = await timeInterleaved(
      {
        cfg: () => raw.run(rawCfg),
        cfgHooked: () => hooked.run(cfg),
        cfgPagFull: () => hooked.run(cfgPag),
        cfgPagSplit: () => session.run(cfgPag),
        single: () => raw.run(rawSingle),
        pagOnlyFull: () => hooked.run(pagOnly),
        pagOnlySplit: () => session.run(pagOnly),
      },
      { warmup: options.warmup, runs: options.runs },
    )
    const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarizeTimes(v)])) as Record<keyof typeof samples, TimeSummary>
    const wall = (k: keyof typeof samples): number => s[k].wall.median
    const cpu = (k: keyof typeof samples): number => s[k].cpu.median
    // rows of model time the split saves: (full − split) / (full / 3), i.e. the prefix share of one row it skipped
    const savedRows = (cpu("cfgPagFull") - cpu("cfgPagSplit")) / (cpu("cfgPagFull") / 3)
    const result: PagCostResult = {
      model: path.relative(process.cwd(), source),
      latent,
      layers,
      threads: sessionOptions.intraOpThreads ?? "default",
      cfgStepMs: wall("cfg"),
      cfgHookedStepMs: wall("cfgHooked"),
      cfgPagFullStepMs: wall("cfgPagFull"),
      cfgPagSplitStepMs: wall("cfgPagSplit"),
      ratioFull: wall("cfgPagFull") / wall("cfg"),
      ratioSplit: wall("cfgPagSplit") / wall("cfg"),
      singleStepMs: wall("single"),
      pagOnlyFullStepMs: wall("pagOnlyFull"),
      pagOnlySplitStepMs: wall("pagOnlySplit"),
      pagOnlyRatioFull: wall("pagOnlyFull") / wall("single"),
      pagOnlyRatioSplit: wall("pagOnlySplit") / wall("single"),
      savedRows,
      prefixMatMulShare: built.stats.prefixMatMulShare,
      crossingTensors: built.crossing.length,
      maxRelL2,
      splitBuildMs: built.buildMs,
      splitCachedLoadMs: cached.buildMs,
      cpu: {
        cfg: cpu("cfg"),
        cfgPagFull: cpu("cfgPagFull"),
        cfgPagSplit: cpu("cfgPagSplit"),
        ratioFull: cpu("cfgPagFull") / cpu("cfg"),
        ratioSplit: cpu("cfgPagSplit") / cpu("cfg"),
      },
      loadAverage: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
      samples: s,
    }
    await session.release() // releases the hooked model too
    return result
  } finally {
    await raw.release()
    await rm(cacheDir, { recursive: true, force: true })
  }
}

/** Memory of one execution mode in a fresh process: RSS after loading, peak over `calls` CFG + PAG calls. */
export interface PagCostMemory {
  readonly execution: "full" | "split"
  readonly rssAfterImportsMiB: number
  readonly rssAfterLoadMiB: number
  readonly rssAfterRunsMiB: number
  readonly peakRssMiB: number
  readonly firstCallMs: number
}

/** Child scenarios: `pag-cost-memory-full`, `pag-cost-memory-split` (options from {@link PAG_COST_ENV}). */
export const pagCostMemoryScenarios = ["pag-cost-memory-full", "pag-cost-memory-split"] as const

/** Environment variable carrying the pag-cost options to memory children (JSON). */
export const PAG_COST_ENV = "PAGKIT_BENCH_PAG_COST"

const MiB = 2 ** 20

/** Runs in a child: load the hooked model (and, for split, its split), then CFG + PAG calls; reports RSS. */
export async function pagCostMemoryChild(scenario: string): Promise<PagCostMemory> {
  const options = JSON.parse(process.env[PAG_COST_ENV] ?? "{}") as PagCostOptions
  const execution = scenario === "pag-cost-memory-split" ? "split" : "full"
  const before = await memorySnapshot()
  const source = await denoiserPath(modelFolder(options.model))
  const hooks = [identityAttention()]
  const sessionOptions = pagkitSessionOptions()
  const hooked = await loadHookedModel(source, { hooks, ...sessionOptions })
  const layers = [...resolveLayers(hooked.index, options.layers ?? defaultLayers(hooked), { mode: "strict" }).layers]
  const session = new SplitSession(hooked, { source, hooks, execution, sessionOptions })
  if (execution === "split") await session.prepare({ "identity-attention": layers })
  const loaded = await memorySnapshot()
  const feeds = { ...denoiserInputs(hooked, [0, 1, 1], options.latent), pag_gates: hooked.gates("identity-attention", [[], [], layers]) }
  const first = await timeOnce(() => session.run(feeds))
  for (let i = 0; i < 2; i++) await session.run(feeds)
  const after = await memorySnapshot()
  await session.release()
  return {
    execution,
    rssAfterImportsMiB: before.rss / MiB,
    rssAfterLoadMiB: loaded.rss / MiB,
    rssAfterRunsMiB: after.rss / MiB,
    peakRssMiB: after.maxRss / MiB,
    firstCallMs: first.wall,
  }
}
