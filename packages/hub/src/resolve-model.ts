import { HubApiError, downloadFile, listFiles, modelInfo, type ListFileEntry } from "@huggingface/hub"
import { stat } from "node:fs/promises"
import { join, resolve } from "node:path"
import { assertNoSymlinkedExternalData, findSymlinkedExternalData } from "./external-data.js"
import { HubError } from "./errors.js"
import {
  COMMIT_HASH,
  completeManifest,
  linkBlob,
  pointerInfo,
  readRef,
  repoFolder,
  selectionKey,
  writeManifest,
  writeRef,
  type ManifestFile,
} from "./internal/cache-layout.js"
import { blobMatches, downloadBlob, type ExpectedBlob } from "./internal/download-blob.js"
import { filterPaths } from "./internal/fnmatch.js"
import { hubSettings, type HubSettingsOptions } from "./settings.js"

/**
 * Files a pipeline needs from a repository, as huggingface_hub `allow_patterns` (fnmatch: `*` also matches `/`):
 * configs (`model_index.json`, `config.json`, `scheduler_config.json`, `preprocessor_config.json`, tokenizer JSON),
 * tokenizer vocabularies, ONNX graphs and their external data (`*.onnx_data`, `*.onnx.data`, `*.pb`, `*.data`).
 */
export const DEFAULT_ALLOW_PATTERNS: readonly string[] = [
  "*.json",
  "*.txt",
  "*.model",
  "*.onnx",
  "*.onnx_data",
  "*.onnx.data",
  "*.pb",
  "*.data",
]

/**
 * Files never downloaded unless `ignorePatterns` is replaced: PyTorch / Flax / TF weights and pickles (which can
 * run code when loaded), whatever `allowPatterns` says.
 */
export const DEFAULT_IGNORE_PATTERNS: readonly string[] = [
  "*.bin",
  "*.pt",
  "*.pth",
  "*.ckpt",
  "*.safetensors",
  "*.msgpack",
  "*.h5",
  "*.pkl",
  "*.pickle",
  "*.ot",
]

/** One step of {@link resolveModel}'s work on one file. */
export interface HubProgressEvent {
  /** `file-start` once per file, `file-progress` as bytes arrive, `file-done` when the file is in the snapshot. */
  readonly type: "file-start" | "file-progress" | "file-done"
  /** Repository id, `org/name`. */
  readonly repo: string
  /** Path of the file inside the repository. */
  readonly file: string
  /** `cache`: already on disk (no transfer); `download`: transferred from the start; `resume`: continued a partial download. */
  readonly source: "cache" | "download" | "resume"
  /** Bytes of this file on disk so far. */
  readonly fileLoaded: number
  /** Size of this file. */
  readonly fileSize: number
  /** Bytes of every selected file on disk so far. */
  readonly loaded: number
  /** Size of every selected file. */
  readonly total: number
}

/** Options of {@link resolveModel}; `endpoint`, `cacheDir`, `token`, `offline` and `env` are {@link HubSettingsOptions}. */
export interface ResolveModelOptions extends HubSettingsOptions {
  /** Branch, tag or commit hash (default `"main"`). A commit hash whose files are cached needs no request at all. */
  readonly revision?: string | undefined
  /** Only this folder of the repository is downloaded, and the returned path points into it. */
  readonly subfolder?: string | undefined
  /** fnmatch patterns of files to download (default {@link DEFAULT_ALLOW_PATTERNS}). Add e.g. `"*.bin"` for IP-Adapter weights. */
  readonly allowPatterns?: readonly string[] | undefined
  /** fnmatch patterns of files never to download (default {@link DEFAULT_IGNORE_PATTERNS}); pass `[]` to allow pickles. */
  readonly ignorePatterns?: readonly string[] | undefined
  /** Re-hash cached blobs against the hub's sha256 before trusting them (default false: sizes are checked). */
  readonly verify?: boolean | undefined
  /** Called as files are checked and downloaded. */
  readonly onProgress?: ((event: HubProgressEvent) => void) | undefined
  /** `fetch` to use (default the global one), e.g. for a proxy. */
  readonly fetch?: typeof fetch | undefined
  /** Aborts the requests in flight; a partial file stays and is resumed next time. */
  readonly signal?: AbortSignal | undefined
}

const REPO_ID = /^(?:[\w.-]+\/)?[\w.-]{1,96}$/

/**
 * A local model folder for a directory path or a Hugging Face model id.
 *
 * - A directory is returned as an absolute path, after checking that no ONNX external data is reached through a
 *   symlink leaving its folder ({@link SymlinkedExternalDataError}).
 * - `org/name` downloads the files a pipeline needs (see {@link DEFAULT_ALLOW_PATTERNS}; never pickles or torch
 *   weights unless asked for) into the Hugging Face cache shared with Python (`models--org--name/{blobs,refs,snapshots}`),
 *   resuming `.incomplete` files, checking every size and the sha256 (or git blob id) the hub lists, and returns the
 *   snapshot folder (joined with `subfolder`). Snapshot files are hard links to their blobs so onnxruntime loads
 *   external data from them. Offline (`offline` or `HF_HUB_OFFLINE=1`) only the cache is read.
 *
 * @example
 * ```ts
 * const dir = await resolveModel("org/sdxl-onnx", { revision: "main", onProgress: (e) => console.log(e.file, e.loaded, e.total) })
 * const pipe = await AutoPipelineForText2Image.fromPretrained(dir)
 * ```
 */
export async function resolveModel(idOrDir: string, options: ResolveModelOptions = {}): Promise<string> {
  const local = resolve(idOrDir)
  const kind = await stat(local).then(
    (s) => (s.isDirectory() ? "dir" : "file"),
    () => "none",
  )
  if (kind === "file") {
    throw new HubError(
      "HUB_DIR_NOT_FOUND",
      `"${idOrDir}" is a file (${local}); a model is a folder (with model_index.json, or one component's model.onnx). Pass its folder.`,
    )
  }
  if (kind === "dir") {
    const dir = options.subfolder === undefined ? local : join(local, options.subfolder)
    await assertNoSymlinkedExternalData(dir)
    return dir
  }
  if (!REPO_ID.test(idOrDir) || idOrDir.includes("--") || idOrDir.includes("..") || /^\.|^~|\\/.test(idOrDir)) {
    const looksLikePath = /^[.~/]|\\/.test(idOrDir) || idOrDir.split("/").length > 2
    throw new HubError(
      looksLikePath ? "HUB_DIR_NOT_FOUND" : "HUB_INVALID_ID",
      looksLikePath
        ? `Model folder "${idOrDir}" does not exist (resolved to ${local}). Pass an existing folder or a hub id like "org/name".`
        : `"${idOrDir}" is neither a folder nor a Hugging Face model id ("org/name": letters, digits, "-", "_", "." only, no "--" or ".."). Check the spelling.`,
    )
  }
  return resolveFromHub(idOrDir, options)
}

async function resolveFromHub(repo: string, options: ResolveModelOptions): Promise<string> {
  const settings = hubSettings(options)
  const revision = options.revision ?? "main"
  const storage = repoFolder(settings.cacheDir, repo)
  const subfolder = options.subfolder?.replace(/^\/+|\/+$/g, "")
  const allow = options.allowPatterns ?? DEFAULT_ALLOW_PATTERNS
  const ignore = options.ignorePatterns ?? DEFAULT_IGNORE_PATTERNS
  const key = selectionKey({ allow, ignore, subfolder: subfolder ?? "" })
  const result = (commit: string): string => join(storage, "snapshots", commit, subfolder ?? "")

  const knownCommit = COMMIT_HASH.test(revision) ? revision : settings.offline ? await readRef(storage, revision) : undefined
  if (knownCommit !== undefined && (await completeManifest(storage, knownCommit, key)) !== undefined) {
    return result(knownCommit)
  }
  if (settings.offline) {
    if (
      knownCommit !== undefined &&
      (await stat(result(knownCommit)).then(
        (s) => s.isDirectory(),
        () => false,
      ))
    ) {
      // downloaded by another client (Python): trust what is there, but make its external data loadable
      for (const { link, target } of await findSymlinkedExternalData(result(knownCommit))) {
        if (target.startsWith(join(storage, "blobs"))) await linkBlob(target, link)
      }
      return result(knownCommit)
    }
    throw new HubError(
      "HUB_OFFLINE_NOT_CACHED",
      `Offline mode (HF_HUB_OFFLINE or offline: true) and "${repo}" at revision "${revision}"${subfolder ? ` (subfolder "${subfolder}")` : ""} ` +
        `is not in the cache ${settings.cacheDir}. Run once online to download it, or point HF_HUB_CACHE / cacheDir at the cache that holds it.`,
    )
  }

  const fetchFn = withSignal(options.fetch ?? globalThis.fetch, options.signal)
  const credentials = settings.token === undefined ? {} : { accessToken: settings.token }
  checkToken(settings.token)
  const common = { hubUrl: settings.endpoint, fetch: fetchFn, ...credentials }

  const commit = COMMIT_HASH.test(revision)
    ? revision
    : await hubCall(
        repo,
        revision,
        settings.endpoint,
        async () => (await modelInfo({ ...common, name: repo, revision, additionalFields: ["sha"] })).sha,
      )
  if (commit === undefined || !COMMIT_HASH.test(commit)) {
    throw new HubError(
      "HUB_REQUEST_FAILED",
      `The hub at ${settings.endpoint} gave no commit hash for "${repo}" at "${revision}" (got ${String(commit)}).`,
    )
  }
  if (commit !== revision) await writeRef(storage, revision, commit)

  const entries: ListFileEntry[] = await hubCall(repo, revision, settings.endpoint, async () => {
    const out: ListFileEntry[] = []
    const listing = listFiles({
      ...common,
      repo: { type: "model", name: repo },
      revision: commit,
      recursive: true,
      ...(subfolder ? { path: subfolder } : {}),
    })
    for await (const entry of listing) if (entry.type === "file") out.push(entry)
    return out
  })
  const byPath = new Map(entries.map((e) => [e.path, e]))
  const selected = filterPaths([...byPath.keys()], allow, ignore)
  if (selected.length === 0) {
    throw new HubError(
      "HUB_NOTHING_SELECTED",
      `"${repo}" at "${revision}"${subfolder ? ` (subfolder "${subfolder}")` : ""} has no file matching allowPatterns [${allow.join(", ")}] ` +
        `and not ignorePatterns [${ignore.join(", ")}]; it holds: ${[...byPath.keys()].slice(0, 20).join(", ") || "nothing"}. ` +
        "Check the repository holds an ONNX export (see docs/guides/models.md), or pass allowPatterns.",
    )
  }

  const expected = selected.map((path) => expectedBlob(byPath.get(path) as ListFileEntry))
  const total = expected.reduce((s, e) => s + e.size, 0)
  let done = 0
  const snapshot = join(storage, "snapshots", commit)
  for (const file of expected) {
    const entry = byPath.get(file.file) as ListFileEntry
    const etag = entry.lfs?.oid ?? entry.oid ?? file.sha256 ?? file.gitOid
    const pointer = join(snapshot, file.file)
    const blobPath = join(storage, "blobs", etag ?? `size-${file.size}-${file.file.replace(/\W/g, "_")}`)
    const emit = (type: HubProgressEvent["type"], source: HubProgressEvent["source"], fileLoaded: number): void =>
      options.onProgress?.({ type, repo, file: file.file, source, fileLoaded, fileSize: file.size, loaded: done + fileLoaded, total })

    const existing = await pointerInfo(pointer)
    if (existing !== undefined && existing.size === file.size && (!options.verify || (await blobMatches(existing.real, file)))) {
      // present (maybe downloaded by Python as a symlink): make data files real links so onnxruntime accepts them
      if (existing.symlink && !/\.(json|txt|model|md)$/.test(file.file)) await linkBlob(existing.real, pointer)
      emit("file-start", "cache", file.size)
      emit("file-done", "cache", file.size)
    } else if (await blobMatchesCheap(blobPath, file, options.verify === true)) {
      await linkBlob(blobPath, pointer)
      emit("file-start", "cache", file.size)
      emit("file-done", "cache", file.size)
    } else {
      const source = await hubCall(repo, revision, settings.endpoint, () =>
        downloadFile({ ...common, repo: { type: "model", name: repo }, path: file.file, revision: commit }),
      )
      if (source === null) {
        throw new HubError(
          "HUB_FILE_NOT_FOUND",
          `"${file.file}" is listed in "${repo}" at ${commit} but the hub at ${settings.endpoint} answers that it does not exist. Run again; if it repeats, report it to the hub.`,
        )
      }
      let transfer: "download" | "resume" | undefined
      const resumed = await downloadBlob({
        source,
        blobPath,
        expected: file,
        onBytes: (loaded) => {
          if (transfer === undefined) {
            // the first call reports the bytes of a partial file being resumed (0 for a fresh download)
            transfer = loaded > 0 ? "resume" : "download"
            emit("file-start", transfer, loaded)
            if (loaded > 0) return
          }
          emit("file-progress", transfer, loaded)
        },
      })
      await linkBlob(blobPath, pointer)
      emit("file-done", resumed > 0 ? "resume" : "download", file.size)
    }
    done += file.size
  }
  const files: ManifestFile[] = expected.map((e) => ({ path: e.file, size: e.size }))
  await writeManifest(storage, key, { repo, commit, files })
  return result(commit)
}

function expectedBlob(entry: ListFileEntry): ExpectedBlob {
  const size = entry.lfs?.size ?? entry.size
  if (entry.lfs !== undefined) return { file: entry.path, size, sha256: entry.lfs.oid }
  return { file: entry.path, size, gitOid: entry.oid }
}

async function blobMatchesCheap(path: string, expected: ExpectedBlob, hash: boolean): Promise<boolean> {
  if (hash) return blobMatches(path, expected)
  return stat(path).then(
    (s) => s.size === expected.size,
    () => false,
  )
}

function checkToken(token: string | undefined): void {
  if (token !== undefined && !token.startsWith("hf_")) {
    throw new HubError(
      "HUB_INVALID_TOKEN",
      `The Hugging Face token (token option, HF_TOKEN or the stored token file) must start with "hf_"; found one starting with "${token.slice(0, 3)}". ` +
        "Create a token at https://huggingface.co/settings/tokens.",
    )
  }
}

function withSignal(fetchFn: typeof fetch, signal: AbortSignal | undefined): typeof fetch {
  if (signal === undefined) return fetchFn
  return (input, init) => fetchFn(input, { ...init, signal })
}

/** Runs a hub request, turning `@huggingface/hub`'s HTTP errors into {@link HubError}s that say what to do. */
async function hubCall<T>(repo: string, revision: string, endpoint: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (cause) {
    if (cause instanceof HubError) throw cause
    if (cause instanceof HubApiError) {
      const status = cause.statusCode
      if (status === 401 || status === 403) {
        throw new HubError(
          "HUB_UNAUTHORIZED",
          `The hub at ${endpoint} refused access to "${repo}" (HTTP ${status}). If the repository is private or gated, accept its terms on the hub ` +
            "and pass a token (token option or HF_TOKEN) that can read it.",
          { cause },
        )
      }
      if (status === 404) {
        const code = String(cause.data?.["error"] ?? cause.message)
        const revisionMissing = /\brev(ision)?\b/i.test(code) // the hub says "Invalid rev id: …"
        throw new HubError(
          revisionMissing ? "HUB_REVISION_NOT_FOUND" : "HUB_REPO_NOT_FOUND",
          revisionMissing
            ? `Revision "${revision}" of "${repo}" does not exist on ${endpoint}. Use a branch, tag or commit hash the repository has.`
            : `Model "${repo}" was not found on ${endpoint} (HTTP 404). Check the id (org/name); a private repository also answers 404 without a token.`,
          { cause },
        )
      }
      throw new HubError("HUB_REQUEST_FAILED", `The hub at ${endpoint} answered HTTP ${status} for "${repo}": ${cause.message}`, { cause })
    }
    const message = cause instanceof Error ? cause.message : String(cause)
    throw new HubError(
      "HUB_REQUEST_FAILED",
      `Could not reach the hub at ${endpoint} for "${repo}" (${message}). Check the network and HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use the cache only.`,
      { cause },
    )
  }
}
