import { lstat, readdir, realpath } from "node:fs/promises"
import { dirname, join, resolve } from "node:path"
import { SymlinkedExternalDataError } from "./errors.js"

/** Files in a model folder that are never ONNX external data. */
const NOT_DATA = /\.(json|txt|model|md|png|jpe?g|webp)$/i

/**
 * Finds the symbolic links in an ONNX model folder that onnxruntime 1.30 refuses: external-data files (anything
 * beside a `*.onnx` file that is not a config, tokenizer or image) whose real path is outside that folder, and the
 * `*.onnx` links of folders that have such data. onnxruntime checks that the canonical path of every external-data
 * file lies in the model's folder ("External data path escapes model directory"); pagkit loads rewritten graphs from
 * a buffer with the folder as external-data directory, where a link into Hugging Face's `blobs/` always escapes.
 * Searches `dir` and its sub-folders (two levels, as in a diffusers pipeline folder).
 *
 * @example
 * ```ts
 * const links = await findSymlinkedExternalData("models/my-sdxl") // [] when every file is real
 * ```
 */
export async function findSymlinkedExternalData(dir: string): Promise<{ link: string; target: string }[]> {
  const found: { link: string; target: string }[] = []
  await scan(resolve(dir), 2, found)
  return found
}

/** Throws {@link SymlinkedExternalDataError} naming each link {@link findSymlinkedExternalData} finds. */
export async function assertNoSymlinkedExternalData(dir: string): Promise<void> {
  const links = await findSymlinkedExternalData(dir)
  if (links.length > 0) throw new SymlinkedExternalDataError(links)
}

async function scan(dir: string, depth: number, found: { link: string; target: string }[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true })
  const names = entries.map((e) => e.name)
  if (names.some((n) => n.endsWith(".onnx"))) {
    const realDir = await realpath(dir)
    const bad: { link: string; target: string }[] = []
    const onnxLinks: { link: string; target: string }[] = []
    for (const entry of entries) {
      if (!entry.isSymbolicLink()) continue
      const link = join(dir, entry.name)
      const target = await realpath(link).catch(() => undefined)
      if (target === undefined || (await lstat(target)).isDirectory()) continue
      if (entry.name.endsWith(".onnx")) onnxLinks.push({ link, target })
      else if (!NOT_DATA.test(entry.name) && dirname(target) !== realDir) bad.push({ link, target })
    }
    const hasData = entries.some((e) => !e.name.endsWith(".onnx") && !NOT_DATA.test(e.name) && !e.isDirectory())
    found.push(...bad, ...(hasData ? onnxLinks.filter((l) => dirname(l.target) !== realDir) : []))
  }
  if (depth === 0) return
  for (const entry of entries) {
    if (entry.isDirectory()) await scan(join(dir, entry.name), depth - 1, found)
  }
}
