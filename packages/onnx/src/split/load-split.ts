// Builds (or reads from the hook cache) the two graphs of a split and loads them as onnxruntime sessions.
import { createHash } from "node:crypto"
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises"
import path from "node:path"
import { performance } from "node:perf_hooks"
import * as ort from "onnxruntime-node"
import type { HookKind } from "../hooks/hook-kind.js"
import { installHooks } from "../hooks/install.js"
import { readModelFile } from "../hooks/load-hooked-model.js"
import { buildLayerIndex } from "../layers/layer-index.js"
import { decodeModel } from "../proto/decode.js"
import { encodeModel } from "../proto/encode.js"
import { loadError, toOrtSessionOptions } from "../session/create-session.js"
import type { SessionOptions } from "../session/create-session.js"
import { crossingValueInfo, splitAtLayers } from "./split-at-layers.js"
import type { CrossingTensor, SplitStats } from "./split-at-layers.js"

/** What a split needs at run time besides its two sessions (also the JSON stored in the cache). */
export interface SplitMeta {
  readonly layers: Readonly<Record<string, readonly string[]>>
  readonly crossing: readonly CrossingTensor[]
  readonly prefixInputs: readonly string[]
  readonly suffixInputs: readonly string[]
  readonly stats: SplitStats
  /** True when some initializer lives in external data (then the graphs load from memory with the source folder). */
  readonly external: boolean
}

/** A split ready to run. */
export interface LoadedSplit extends SplitMeta {
  readonly prefix: ort.InferenceSession
  readonly suffix: ort.InferenceSession
  /** Milliseconds to get here (decode + rewrite + split + encode + both sessions; or cache read + sessions). */
  readonly buildMs: number
  /** True when the graphs came from the on-disk cache. */
  readonly fromCache: boolean
}

/** Options of {@link loadSplit}. */
export interface LoadSplitOptions {
  /** The original (unhooked) model file the hooked graph was made from. */
  readonly source: string
  /** The hook kinds installed on it, as given to `loadHookedModel`. */
  readonly hooks: readonly HookKind[]
  /** Perturbed layers by hook kind. */
  readonly layers: Readonly<Record<string, readonly string[]>>
  /** Hook cache folder (`<key>.prefix.onnx`, `<key>.suffix.onnx`, `<key>.split.json`); default: none. */
  readonly cacheDir?: string | undefined
  readonly sessionOptions?: SessionOptions | undefined
  /**
   * Give the two split sessions onnxruntime's CPU memory arena (default true: fastest). Each session's arena keeps
   * its high-water mark, so with arenas the process holds the prefix's and the suffix's peak at once; without,
   * large buffers go back to the system after each call (peak ≈ the larger of the two, at the price of page faults).
   */
  readonly memoryArena?: boolean | undefined
}

const SPLIT_FORMAT = 1

/** Cache key of a split: the source file (path, size, mtime), the hook kinds and the perturbed layers. */
export async function splitCacheKey(options: Pick<LoadSplitOptions, "source" | "hooks" | "layers">): Promise<string> {
  const info = await stat(options.source)
  const layers = Object.entries(options.layers)
    .filter(([, paths]) => paths.length > 0)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([kind, paths]) => [kind, [...new Set(paths)].sort()])
  const key = JSON.stringify({
    format: SPLIT_FORMAT,
    source: path.resolve(options.source),
    size: info.size,
    mtime: info.mtimeMs,
    hooks: options.hooks.map((h) => [h.name, h.version, h.cacheKey ?? ""]),
    layers,
  })
  return createHash("sha256").update(key).digest("hex").slice(0, 32)
}

async function readCached(file: string): Promise<SplitMeta | undefined> {
  try {
    const meta = JSON.parse(await readFile(`${file}.split.json`, "utf8")) as SplitMeta
    const [a, b] = await Promise.all([stat(`${file}.prefix.onnx`), stat(`${file}.suffix.onnx`)])
    return a.isFile() && b.isFile() ? meta : undefined
  } catch {
    return undefined
  }
}

async function writeCached(file: string, meta: SplitMeta, prefix: Uint8Array, suffix: Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(`${tmp}.prefix.onnx`, prefix)
  await rename(`${tmp}.prefix.onnx`, `${file}.prefix.onnx`)
  await writeFile(`${tmp}.suffix.onnx`, suffix)
  await rename(`${tmp}.suffix.onnx`, `${file}.suffix.onnx`)
  await writeFile(`${tmp}.split.json`, JSON.stringify(meta))
  await rename(`${tmp}.split.json`, `${file}.split.json`)
}

async function createOrtSession(
  model: string | Uint8Array,
  options: SessionOptions & { readonly memoryArena?: boolean | undefined },
  what: string,
): Promise<ort.InferenceSession> {
  const ortOptions = { ...toOrtSessionOptions(options), enableCpuMemArena: options.memoryArena ?? true }
  try {
    return typeof model === "string"
      ? await ort.InferenceSession.create(model, ortOptions)
      : await ort.InferenceSession.create(model, ortOptions)
  } catch (error) {
    throw loadError(error, what, options)
  }
}

/**
 * Builds the split of a hooked model for a set of perturbed layers, or reads it from `cacheDir`, and loads both
 * graphs. Weights in external data stay in the source folder's files (the graphs load from memory with that folder
 * as their external-data folder); inline weights are kept inline, each graph holding the ones it uses.
 *
 * @example
 * const split = await loadSplit({ source: "unet/model.onnx", hooks: [identityAttention()], layers: { "identity-attention": midLayers }, cacheDir })
 * split.crossing.length // tensors handed from prefix to suffix
 */
export async function loadSplit(options: LoadSplitOptions): Promise<LoadedSplit> {
  const started = performance.now()
  const sessionOptions = { ...options.sessionOptions, memoryArena: options.memoryArena }
  const sourceDir = path.dirname(path.resolve(options.source))
  const what = (part: string): string => `the ${part} of the split of "${options.source}"`
  const withDir = { externalDataDir: sourceDir, ...sessionOptions }
  const cacheFile =
    options.cacheDir === undefined ? undefined : path.join(options.cacheDir, await splitCacheKey(options))
  const cached = cacheFile === undefined ? undefined : await readCached(cacheFile)
  if (cacheFile !== undefined && cached !== undefined) {
    const load = async (part: "prefix" | "suffix"): Promise<ort.InferenceSession> =>
      cached.external
        ? createOrtSession(new Uint8Array(await readFile(`${cacheFile}.${part}.onnx`)), withDir, what(part))
        : createOrtSession(`${cacheFile}.${part}.onnx`, sessionOptions, what(part))
    const prefix = await load("prefix")
    const suffix = await load("suffix")
    return { ...cached, prefix, suffix, buildMs: performance.now() - started, fromCache: true }
  }
  const model = decodeModel(await readModelFile(options.source))
  const hooks = installHooks(model, buildLayerIndex(model), options.hooks)
  const split = splitAtLayers(model, { hooks, layers: options.layers })
  const meta: SplitMeta = {
    layers: split.layers,
    crossing: split.crossing,
    prefixInputs: split.prefixInputs,
    suffixInputs: split.suffixInputs,
    stats: split.stats,
    external: model.graph.initializers.some((i) => i.external),
  }
  const prefixBytes = encodeModel(split.prefix)
  const prefix = await createOrtSession(prefixBytes, withDir, what("prefix"))
  // the suffix's crossing inputs get the shapes onnxruntime inferred for the prefix's outputs (rank, channels),
  // so its optimizers see what they would see in the whole graph
  const inferred = new Map(prefix.outputMetadata.map((m) => [m.name, m.isTensor ? m.shape : undefined]))
  const suffixGraph = split.suffix.graph
  const crossingNames = new Set(split.crossing.map((c) => c.name))
  const suffixModel = {
    ...split.suffix,
    graph: {
      ...suffixGraph,
      inputs: suffixGraph.inputs.map((info) => {
        const c = split.crossing.find((x) => x.name === info.name)
        return c === undefined || !crossingNames.has(info.name) ? info : crossingValueInfo(c.name, c.elemType, inferred.get(c.name))
      }),
    },
  }
  const suffixBytes = encodeModel(suffixModel)
  if (cacheFile !== undefined && options.cacheDir !== undefined) {
    await mkdir(options.cacheDir, { recursive: true })
    await writeCached(cacheFile, meta, prefixBytes, suffixBytes)
  }
  const suffix = await createOrtSession(suffixBytes, withDir, what("suffix"))
  return { ...meta, prefix, suffix, buildMs: performance.now() - started, fromCache: false }
}
