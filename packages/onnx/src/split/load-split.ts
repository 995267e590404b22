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
import { fuseSplit } from "./fuse-split.js"
import { splitAtLayers } from "./split-at-layers.js"
import type { CrossingTensor, SplitStats } from "./split-at-layers.js"

/** What a split needs at run time besides its session (also the JSON stored in the cache). */
export interface SplitMeta {
  readonly layers: Readonly<Record<string, readonly string[]>>
  readonly crossing: readonly CrossingTensor[]
  readonly prefixInputs: readonly string[]
  readonly suffixInputs: readonly string[]
  /** Model inputs fed at the distinct rows only (the fused graph expands them in-graph). */
  readonly perRowInputs: readonly string[]
  readonly stats: SplitStats
  /** True when some initializer lives in external data (then the graph loads from memory with the source folder). */
  readonly external: boolean
}

/** A split ready to run: one session over the fused graph (see `fuseSplit`). */
export interface LoadedSplit extends SplitMeta {
  readonly session: ort.InferenceSession
  /** Milliseconds to get here (decode + rewrite + split + fuse + encode + session; or cache read + session). */
  readonly buildMs: number
  /** True when the graph came from the on-disk cache. */
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
  /** Model inputs fed per row (first axis = batch), gate inputs excluded. */
  readonly perRowInputs: readonly string[]
  /** Hook cache folder (`<key>.split.onnx`, `<key>.split.json`); default: none. */
  readonly cacheDir?: string | undefined
  readonly sessionOptions?: SessionOptions | undefined
}

const SPLIT_FORMAT = 2

/** Cache key of a split: the source file (path, size, mtime), the hook kinds, the perturbed layers, the per-row inputs. */
export async function splitCacheKey(options: Pick<LoadSplitOptions, "source" | "hooks" | "layers" | "perRowInputs">): Promise<string> {
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
    perRow: [...options.perRowInputs].sort(),
  })
  return createHash("sha256").update(key).digest("hex").slice(0, 32)
}

async function readCached(file: string): Promise<SplitMeta | undefined> {
  try {
    const meta = JSON.parse(await readFile(`${file}.split.json`, "utf8")) as SplitMeta
    return (await stat(`${file}.split.onnx`)).isFile() ? meta : undefined
  } catch {
    return undefined
  }
}

async function writeCached(file: string, meta: SplitMeta, bytes: Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(`${tmp}.split.onnx`, bytes)
  await rename(`${tmp}.split.onnx`, `${file}.split.onnx`)
  await writeFile(`${tmp}.split.json`, JSON.stringify(meta))
  await rename(`${tmp}.split.json`, `${file}.split.json`)
}

async function createOrtSession(model: string | Uint8Array, options: SessionOptions, what: string): Promise<ort.InferenceSession> {
  try {
    return typeof model === "string"
      ? await ort.InferenceSession.create(model, toOrtSessionOptions(options))
      : await ort.InferenceSession.create(model, toOrtSessionOptions(options))
  } catch (error) {
    throw loadError(error, what, options)
  }
}

/**
 * Builds the split of a hooked model for a set of perturbed layers as one fused graph (prefix on the distinct rows,
 * in-graph expansion, suffix on every row), or reads it from `cacheDir`, and loads it as one session. Weights in
 * external data stay in the source folder's files (the graph loads from memory with that folder as its
 * external-data folder); inline weights stay inline.
 *
 * @example
 * const split = await loadSplit({ source: "unet/model.onnx", hooks: [identityAttention()], layers: { "identity-attention": midLayers },
 *   perRowInputs: ["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids"], cacheDir })
 */
export async function loadSplit(options: LoadSplitOptions): Promise<LoadedSplit> {
  const started = performance.now()
  const sessionOptions = options.sessionOptions ?? {}
  const sourceDir = path.dirname(path.resolve(options.source))
  const what = `the split graph of "${options.source}"`
  const withDir = { externalDataDir: sourceDir, ...sessionOptions }
  const cacheFile = options.cacheDir === undefined ? undefined : path.join(options.cacheDir, await splitCacheKey(options))
  const cached = cacheFile === undefined ? undefined : await readCached(cacheFile)
  if (cacheFile !== undefined && cached !== undefined) {
    const session = cached.external
      ? await createOrtSession(new Uint8Array(await readFile(`${cacheFile}.split.onnx`)), withDir, what)
      : await createOrtSession(`${cacheFile}.split.onnx`, sessionOptions, what)
    return { ...cached, session, buildMs: performance.now() - started, fromCache: true }
  }
  const model = decodeModel(await readModelFile(options.source))
  const hooks = installHooks(model, buildLayerIndex(model), options.hooks)
  const split = splitAtLayers(model, { hooks, layers: options.layers })
  const gateInputs = hooks.flatMap((h) => h.inputs.filter((i) => i.layout === "gates").map((i) => i.name))
  const fused = fuseSplit(split, { perRowInputs: options.perRowInputs, gateInputs })
  const meta: SplitMeta = {
    layers: split.layers,
    crossing: split.crossing,
    prefixInputs: split.prefixInputs,
    suffixInputs: split.suffixInputs,
    perRowInputs: [...options.perRowInputs].sort(),
    stats: split.stats,
    external: model.graph.initializers.some((i) => i.external),
  }
  const bytes = encodeModel(fused)
  if (cacheFile !== undefined && options.cacheDir !== undefined) {
    await mkdir(options.cacheDir, { recursive: true })
    await writeCached(cacheFile, meta, bytes)
  }
  const session = await createOrtSession(bytes, withDir, what)
  return { ...meta, session, buildMs: performance.now() - started, fromCache: false }
}
