import { cp, mkdtemp, readFile, rm, symlink, truncate, writeFile } from "node:fs/promises"
import os from "node:os"
import path from "node:path"

/** Ways to break one file of a model folder. */
export type Fault = "missing" | "truncated" | "random" | "lfs-pointer" | "empty" | "html"

/** A private copy of a model folder whose files can be broken and restored one at a time. */
export interface BrokenFolder {
  readonly dir: string
  /** Breaks `file` (relative to the folder) and returns its absolute path. */
  break(file: string, fault: Fault): Promise<string>
  /** Replaces a JSON file's keys with `patch` (values `undefined` delete the key). */
  patchJson(file: string, patch: Record<string, unknown>): Promise<string>
  /** Makes `file` a symlink to a copy of itself outside the folder. */
  symlinkOut(file: string): Promise<string>
  /** Puts every broken file back. */
  restore(): Promise<void>
  /** Deletes the copy. */
  remove(): Promise<void>
}

/** A deterministic byte stream (xorshift32): "random" files are the same at every run. */
function noise(length: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed >>> 0
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

/** Copies `source` to a temp folder (nothing of the original is touched). */
export async function brokenFolder(source: string): Promise<BrokenFolder> {
  const root = await mkdtemp(path.join(os.tmpdir(), "pagkit-faults-"))
  const dir = path.join(root, path.basename(source))
  await cp(source, dir, { recursive: true })
  const originals = new Map<string, Uint8Array>()
  const outside = path.join(root, "outside")
  const keep = async (file: string): Promise<string> => {
    const full = path.join(dir, file)
    if (!originals.has(file)) originals.set(file, new Uint8Array(await readFile(full)))
    return full
  }
  return {
    dir,
    async break(file, fault) {
      const full = await keep(file)
      const bytes = originals.get(file)!
      switch (fault) {
        case "missing":
          await rm(full)
          break
        case "truncated":
          await truncate(full, Math.floor(bytes.length * 0.6))
          break
        case "random":
          await writeFile(full, noise(bytes.length))
          break
        case "lfs-pointer":
          await writeFile(full, `version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize ${bytes.length}\n`)
          break
        case "empty":
          await writeFile(full, "")
          break
        case "html":
          await writeFile(full, "<!DOCTYPE html><html><body>404 Not Found</body></html>\n")
          break
      }
      return full
    },
    async patchJson(file, patch) {
      const full = await keep(file)
      const json = JSON.parse(new TextDecoder().decode(originals.get(file)!)) as Record<string, unknown>
      for (const [key, value] of Object.entries(patch)) {
        if (value === undefined) delete json[key]
        else json[key] = value
      }
      await writeFile(full, JSON.stringify(json, null, 1))
      return full
    },
    async symlinkOut(file) {
      const full = await keep(file)
      const target = path.join(outside, file.replaceAll("/", "_"))
      await cp(full, target)
      await rm(full)
      await symlink(target, full)
      return full
    },
    async restore() {
      for (const [file, bytes] of originals) {
        const full = path.join(dir, file)
        await rm(full, { force: true })
        await writeFile(full, bytes)
      }
      originals.clear()
    },
    async remove() {
      await rm(root, { recursive: true, force: true })
    },
  }
}

/** Rewrites one float32 initializer of an ONNX file with NaN (e.g. a VAE or UNet bias), keeping everything else. */
export async function poisonInitializer(file: string, name: string): Promise<void> {
  const { decodeModel, encodeModel, float32Initializer } = await import("@pagkit/onnx")
  const model = decodeModel(new Uint8Array(await readFile(file)))
  const index = model.graph.initializers.findIndex((init) => init.name === name)
  if (index < 0) throw new Error(`no initializer ${name} in ${file}`)
  const dims = model.graph.initializers[index]!.dims
  const size = dims.reduce((a, b) => a * b, 1)
  model.graph.initializers[index] = float32Initializer(name, new Float32Array(size).fill(Number.NaN), dims)
  await writeFile(file, encodeModel(model))
}
