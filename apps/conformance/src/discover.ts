import { readdir, readFile, open } from "node:fs/promises"
import path from "node:path"
import { parsePythonJson } from "@pagkit/models-core"
import type { CaseFile } from "./kind.js"

/** Key set on `meta` when a case's json could not be parsed; the runner fails such a case. */
export const unreadableMeta = "__unreadable__"

/** Reads the `meta` JSON stored in a safetensors header's `__metadata__`, or `{}`. */
async function safetensorsMeta(file: string): Promise<Record<string, any>> {
  const handle = await open(file, "r")
  try {
    const lengthBytes = Buffer.alloc(8)
    await handle.read(lengthBytes, 0, 8, 0)
    const headerLength = Number(lengthBytes.readBigUInt64LE(0))
    const header = Buffer.alloc(headerLength)
    await handle.read(header, 0, headerLength, 8)
    const parsed = JSON.parse(header.toString("utf8")) as { __metadata__?: Record<string, string> }
    const meta = parsed.__metadata__?.["meta"]
    return meta === undefined ? {} : (JSON.parse(meta) as Record<string, any>)
  } catch {
    return {}
  } finally {
    await handle.close()
  }
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  const files: string[] = []
  for (const entry of entries) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) files.push(...(await walk(full)))
    else files.push(full)
  }
  return files
}

/**
 * Finds every case in an oracle folder: each `NAME.json` (with its `NAME.safetensors` when present), and each
 * `NAME.safetensors` that has no json (its metadata is read from the header). Sorted by path.
 */
export async function discoverCases(oracleDir: string): Promise<CaseFile[]> {
  const files = (await walk(oracleDir)).sort()
  const present = new Set(files)
  const cases: CaseFile[] = []
  for (const file of files) {
    const relPath = path.relative(oracleDir, file)
    if (file.endsWith(".json")) {
      const tensors = file.slice(0, -".json".length) + ".safetensors"
      let meta: Record<string, any>
      try {
        meta = parsePythonJson(await readFile(file, "utf8")) as Record<string, any>
      } catch (error) {
        meta = { [unreadableMeta]: `${relPath} is not valid JSON (${(error as Error).message})` }
      }
      cases.push({ relPath, path: file, tensorsPath: present.has(tensors) ? tensors : undefined, meta, oracleDir })
    } else if (file.endsWith(".safetensors") && !present.has(file.slice(0, -".safetensors".length) + ".json")) {
      cases.push({ relPath, path: file, tensorsPath: file, meta: await safetensorsMeta(file), oracleDir })
    }
  }
  return cases
}
