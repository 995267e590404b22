// Writing the user's output files safely: only new or (with --force) existing writable regular files; never a link,
// FIFO, device, socket or folder; all images to temporary files first, then renamed, removing what was written on failure.
import { randomBytes } from "node:crypto"
import * as fsp from "node:fs/promises"
import path from "node:path"
import { CliError, EXIT } from "./errors.js"

/** The file-system calls the writer uses (tests inject failures). */
export interface OutputFs {
  readonly lstat: typeof fsp.lstat
  readonly mkdir: typeof fsp.mkdir
  readonly writeFile: typeof fsp.writeFile
  readonly rename: typeof fsp.rename
  readonly rm: typeof fsp.rm
}

const nodeFs: OutputFs = { lstat: fsp.lstat, mkdir: fsp.mkdir, writeFile: fsp.writeFile, rename: fsp.rename, rm: fsp.rm }

function kindOf(info: { isSymbolicLink(): boolean; isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string | undefined {
  if (info.isSymbolicLink()) return "a symbolic link"
  if (info.isDirectory()) return "a folder"
  if (info.isFIFO()) return "a FIFO (named pipe)"
  if (info.isCharacterDevice()) return "a character device"
  if (info.isBlockDevice()) return "a block device"
  if (info.isSocket()) return "a socket"
  return undefined
}

/**
 * Checks one output target: absent → fine; a regular file → fine only with `force` and when it is writable;
 * anything else (symbolic link, FIFO, device node, socket, folder) → refused even with `force`.
 * Returns whether the file exists (so a failed run knows not to delete it).
 */
export async function checkOutputTarget(file: string, options: { force: boolean; fs?: OutputFs }): Promise<{ exists: boolean }> {
  const fs = options.fs ?? nodeFs
  let info
  try {
    info = await fs.lstat(file)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { exists: false }
    throw new CliError(`--out ${file}: cannot inspect it (${(error as Error).message}).`, { code: "OUTPUT_UNREADABLE", cause: error })
  }
  const kind = kindOf(info)
  if (kind !== undefined) {
    const hint = info.isSymbolicLink() ? "pagkit does not write through links; pass the link's target path" : "pass a regular file path"
    throw new CliError(`--out ${file} is ${kind}; pagkit writes only regular files and never replaces anything else (--force does not change that). ${hint}.`, { code: "OUTPUT_NOT_REGULAR" })
  }
  if ((info.mode & 0o222) === 0) {
    throw new CliError(`--out ${file} is read-only; pagkit does not replace read-only files (--force does not change that). Choose another name or make it writable.`, { code: "OUTPUT_READ_ONLY" })
  }
  try {
    await fsp.access(file, fsp.constants.W_OK)
  } catch (error) {
    throw new CliError(`--out ${file} is not writable by you (${(error as Error).message}). Choose another name.`, { code: "OUTPUT_READ_ONLY", cause: error })
  }
  if (!options.force) throw new CliError(`--out ${file} exists; pass --force (-f) to overwrite it, or choose another name.`, { code: "OUTPUT_EXISTS" })
  return { exists: true }
}

/** Checks every target (before a run, so a refused `--out` costs nothing). */
export async function checkOutputTargets(files: readonly string[], options: { force: boolean; fs?: OutputFs }): Promise<void> {
  if (new Set(files).size !== files.length) throw new CliError(`two images would be written to the same file; choose another --out.`)
  for (const file of files) await checkOutputTarget(file, options)
}

/** One file to write. */
export interface OutputFile {
  readonly path: string
  readonly bytes: Uint8Array
}

/**
 * Writes all files or none: each to a temporary file beside its target (exclusive create), then, once all are
 * written, renames them into place. On any failure the temporary files and the targets renamed so far that did not
 * exist before are removed; the error says what happened. Targets are checked again just before renaming.
 */
export async function writeOutputs(files: readonly OutputFile[], options: { force: boolean; fs?: OutputFs }): Promise<string[]> {
  const fs = options.fs ?? nodeFs
  const temps: string[] = []
  const placed: string[] = []
  try {
    const existed = new Map<string, boolean>()
    for (const file of files) existed.set(file.path, (await checkOutputTarget(file.path, { ...options, fs })).exists)
    for (const file of files) {
      const dir = path.dirname(file.path)
      await fs.mkdir(dir, { recursive: true })
      const temp = path.join(dir, `.${path.basename(file.path)}.${process.pid}-${randomBytes(4).toString("hex")}.partial`)
      temps.push(temp)
      await fs.writeFile(temp, file.bytes, { flag: "wx", mode: 0o644 })
    }
    for (const [i, file] of files.entries()) {
      await checkOutputTarget(file.path, { ...options, fs })
      await fs.rename(temps[i]!, file.path)
      if (existed.get(file.path) !== true) placed.push(file.path)
    }
    return files.map((f) => f.path)
  } catch (error) {
    await Promise.all([...temps, ...placed].map((f) => fs.rm(f, { force: true }).catch(() => undefined)))
    if (error instanceof CliError) throw error
    throw new CliError(
      `could not write ${files.length === 1 ? files[0]!.path : `${files.length} images`}: ${(error as Error).message}. Nothing was left behind${placed.length > 0 ? ` (removed ${placed.join(", ")})` : ""}.`,
      { code: "WRITE_FAILED", exitCode: EXIT.runtime, cause: error },
    )
  }
}

/**
 * The files a run writes: `out` for one image; `name-1.png`, `name-2.png`, … for several per seed; `name-seed3.png`
 * per seed with `--seeds`; `name-seed3-1.png` for both.
 */
export function outputNames(out: string, seeds: readonly number[], numImages: number): string[][] {
  const ext = path.extname(out)
  const stem = out.slice(0, out.length - ext.length)
  return seeds.map((seed) => {
    const base = seeds.length === 1 ? stem : `${stem}-seed${seed}`
    if (numImages === 1) return [seeds.length === 1 ? out : `${base}${ext}`]
    return Array.from({ length: numImages }, (_, i) => `${base}-${i + 1}${ext}`)
  })
}
