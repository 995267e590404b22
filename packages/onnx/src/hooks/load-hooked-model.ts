import { createHash } from "node:crypto"
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises"
import path from "node:path"
import { ModelLoadError, OnnxProtoError } from "../errors.js"
import { buildLayerIndex } from "../layers/layer-index.js"
import type { LayerIndex } from "../layers/layer-index.js"
import { decodeModel } from "../proto/decode.js"
import { encodeModel } from "../proto/encode.js"
import { createSession, sessionFromBytes } from "../session/create-session.js"
import { modelBytesHint } from "../session/model-file-hint.js"
import type { SessionOptions } from "../session/create-session.js"
import type { HookKind, InstalledHook } from "./hook-kind.js"
import { HookedModel } from "./hooked-model.js"
import { installHooks } from "./install.js"

/** Options of {@link loadHookedModel}. */
export interface HookedModelOptions extends SessionOptions {
  /** Hook kinds to install (each once). */
  readonly hooks: readonly HookKind[]
  /**
   * Folder for rewritten graphs (`<key>.onnx` + `<key>.json` with the layer index). Key: source path, size and
   * mtime plus each hook's name, version and `cacheKey`, so a second load skips decoding and rewriting; a
   * self-contained graph is then loaded from the cache file by onnxruntime directly. Default: no cache
   * (rewrite in memory at every load).
   */
  readonly cacheDir?: string
}

/** The layer index and installed hooks of a rewritten graph. @inline */
interface CacheEntry {
  readonly index: LayerIndex
  readonly hooks: readonly InstalledHook[]
  /** True when some initializer lives in an external-data file (then the graph must be loaded from memory). */
  readonly external: boolean
}

// 4: the layer index gained joint/unprojected attention, module outputs, dual-stream block tensors and feed-forward modules
const CACHE_FORMAT = 4

async function cacheKey(source: string, hooks: readonly HookKind[]): Promise<string> {
  const info = await stat(source)
  const key = JSON.stringify({
    format: CACHE_FORMAT,
    source: path.resolve(source),
    size: info.size,
    mtime: info.mtimeMs,
    hooks: hooks.map((h) => [h.name, h.version, h.cacheKey ?? ""]),
  })
  return createHash("sha256").update(key).digest("hex").slice(0, 32)
}

/** Reads a model file, naming the path and what to do when it is missing. */
export async function readModelFile(source: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(source))
  } catch (error) {
    throw new ModelLoadError(
      "ONNX_MODEL_NOT_FOUND",
      `model file "${source}" could not be read (${(error as Error).message}). Pass the path of a model.onnx inside an exported model folder.`,
      { cause: error },
    )
  }
}

/** Decodes, indexes and rewrites a model; returns the hooked bytes. */
export function rewriteModel(bytes: Uint8Array, hooks: readonly HookKind[]): { readonly bytes: Uint8Array } & CacheEntry {
  const model = decodeModel(bytes)
  const index = buildLayerIndex(model)
  const installed = installHooks(model, index, hooks)
  const external = model.graph.initializers.some((init) => init.external)
  return { bytes: encodeModel(model), index, hooks: installed, external }
}

async function readCache(file: string): Promise<CacheEntry | undefined> {
  try {
    const entry = JSON.parse(await readFile(`${file}.json`, "utf8")) as CacheEntry
    return (await stat(`${file}.onnx`)).isFile() ? entry : undefined
  } catch {
    return undefined
  }
}

async function writeCache(file: string, entry: CacheEntry & { bytes: Uint8Array }): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(`${tmp}.onnx`, entry.bytes)
  await rename(`${tmp}.onnx`, `${file}.onnx`)
  await writeFile(`${tmp}.json`, JSON.stringify({ index: entry.index, hooks: entry.hooks, external: entry.external }))
  await rename(`${tmp}.json`, `${file}.json`)
}

/**
 * Loads a model with hooks installed: the graph is decoded, indexed and rewritten once (weights in external
 * data stay on disk), then loaded from memory with the original folder as the external-data folder.
 *
 * @example
 * const unet = await loadHookedModel("tiny-sdxl/unet/model.onnx", { hooks: [identityAttention()], cacheDir })
 * const gates = unet.gates("identity-attention", [[], [], ["mid_block.attentions.0.transformer_blocks.0.attn1"]])
 * const { out_sample } = await unet.run({ ...feeds, pag_gates: gates })
 */
export async function loadHookedModel(source: string, options: HookedModelOptions): Promise<HookedModel> {
  const { hooks, cacheDir, ...sessionOptions } = options
  const sourceDir = path.dirname(path.resolve(source))
  const what = `the hooked graph of "${source}"`
  const cacheFile = cacheDir === undefined ? undefined : await cacheKey(source, hooks).then((key) => path.join(cacheDir, key), () => undefined)
  const cached = cacheFile === undefined ? undefined : await readCache(cacheFile)
  if (cacheFile !== undefined && cached !== undefined) {
    // Self-contained graphs load from the cache file (onnxruntime reads it; JS never holds the weights);
    // graphs with external data load from memory with the original folder for their weights.
    const session = cached.external
      ? await sessionFromBytes(new Uint8Array(await readFile(`${cacheFile}.onnx`)), { externalDataDir: sourceDir, ...sessionOptions }, what)
      : await createSession(`${cacheFile}.onnx`, sessionOptions)
    return new HookedModel(session, cached.index, cached.hooks)
  }
  const bytes = await readModelFile(source)
  let entry: ReturnType<typeof rewriteModel>
  try {
    entry = rewriteModel(bytes, hooks)
  } catch (error) {
    if (!(error instanceof OnnxProtoError)) throw error
    // Name the file, and say what it is when that can be seen (a Git LFS pointer, an empty or text file).
    const hint = modelBytesHint(bytes.subarray(0, 512), bytes.byteLength)
    throw new OnnxProtoError(
      hint === undefined
        ? `"${source}" is not a complete ONNX model: ${error.message}`
        : `"${source}" is not an ONNX model: ${hint}. (${error.message})`,
      { cause: error },
    )
  }
  if (cacheFile !== undefined && cacheDir !== undefined) {
    await mkdir(cacheDir, { recursive: true })
    await writeCache(cacheFile, entry)
  }
  const session = await sessionFromBytes(entry.bytes, { externalDataDir: sourceDir, ...sessionOptions }, what)
  return new HookedModel(session, entry.index, entry.hooks)
}
