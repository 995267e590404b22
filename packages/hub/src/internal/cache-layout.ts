import { createHash } from "node:crypto"
import { copyFile, link, lstat, mkdir, readFile, realpath, rename, rm, stat, writeFile } from "node:fs/promises"
import { dirname, join } from "node:path"

// huggingface_hub's cache layout (file_download.py): <cache>/models--org--name/{blobs/<etag>, refs/<revision>,
// snapshots/<commit>/<path>}. Python links snapshot files to blobs with relative symlinks; pagkit uses hard links
// (a copy where those fail), the layout huggingface_hub itself falls back to without symlink support, because
// onnxruntime refuses external data whose real path leaves the model's folder.

export const COMMIT_HASH = /^[0-9a-f]{40}$/

/** `models--org--name` folder of a model repository. */
export function repoFolder(cacheDir: string, repoId: string): string {
  return join(cacheDir, `models--${repoId.split("/").join("--")}`)
}

export async function readRef(storage: string, revision: string): Promise<string | undefined> {
  try {
    const commit = (await readFile(join(storage, "refs", revision), "utf8")).trim()
    return COMMIT_HASH.test(commit) ? commit : undefined
  } catch {
    return undefined
  }
}

export async function writeRef(storage: string, revision: string, commit: string): Promise<void> {
  const path = join(storage, "refs", revision)
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, commit)
}

/** One file a resolved snapshot must hold. */
export interface ManifestFile {
  readonly path: string
  readonly size: number
}

/** pagkit's record of a complete download: which files a selection of one commit holds (`.pagkit/`, beside blobs). */
export interface Manifest {
  readonly repo: string
  readonly commit: string
  readonly files: readonly ManifestFile[]
}

export function selectionKey(parts: unknown): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 16)
}

function manifestPath(storage: string, commit: string, key: string): string {
  return join(storage, ".pagkit", `${commit}-${key}.json`)
}

export async function writeManifest(storage: string, key: string, manifest: Manifest): Promise<void> {
  const path = manifestPath(storage, manifest.commit, key)
  await mkdir(dirname(path), { recursive: true })
  await writeFile(`${path}.tmp`, JSON.stringify(manifest, null, 1))
  await rename(`${path}.tmp`, path)
}

/** The manifest of `commit` for a selection when every file it lists is in the snapshot with its size. */
export async function completeManifest(storage: string, commit: string, key: string): Promise<Manifest | undefined> {
  let manifest: Manifest
  try {
    manifest = JSON.parse(await readFile(manifestPath(storage, commit, key), "utf8")) as Manifest
  } catch {
    return undefined
  }
  const snapshot = join(storage, "snapshots", commit)
  for (const file of manifest.files) {
    const size = await stat(join(snapshot, file.path)).then(
      (s) => s.size,
      () => -1,
    )
    if (size !== file.size) return undefined
  }
  return manifest
}

/** Makes `pointer` the same file as `blob`: a hard link, or a copy where hard links fail. */
export async function linkBlob(blob: string, pointer: string): Promise<void> {
  await mkdir(dirname(pointer), { recursive: true })
  await rm(pointer, { force: true })
  try {
    await link(blob, pointer)
  } catch {
    await copyFile(blob, `${pointer}.tmp`)
    await rename(`${pointer}.tmp`, pointer)
  }
}

/** Size of the file at `pointer` (following links), whether it is a symlink, and its real path. */
export async function pointerInfo(pointer: string): Promise<{ size: number; symlink: boolean; real: string } | undefined> {
  try {
    const symlink = (await lstat(pointer)).isSymbolicLink()
    const real = await realpath(pointer)
    return { size: (await stat(real)).size, symlink, real }
  } catch {
    return undefined
  }
}
