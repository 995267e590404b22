import { readFile } from "node:fs/promises"
import { ModelConfigError, MissingModelFileError } from "@pagkit/models-core"

// Private copy (the lead may dedup with models-core / apps/conformance): diffusers writes configs with Python's
// json.dumps, which emits bare NaN / Infinity / -Infinity (e.g. DPMSolver's `lambda_min_clipped: -Infinity`).

const TOKENS = ["-Infinity", "Infinity", "NaN"] as const

/** Parses JSON that may contain Python's bare `NaN`, `Infinity`, `-Infinity` tokens (outside strings). */
export function parsePythonJson(text: string): unknown {
  const marker = "\u0000pagkit-nonfinite:"
  let out = ""
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (inString) {
      out += ch
      if (ch === "\\") out += text[++i] ?? ""
      else if (ch === '"') inString = false
      continue
    }
    if (ch === '"') {
      inString = true
      out += ch
      continue
    }
    const token = TOKENS.find((t) => text.startsWith(t, i))
    if (token !== undefined) {
      out += JSON.stringify(marker + token)
      i += token.length - 1
      continue
    }
    out += ch
  }
  return JSON.parse(out, (_key, value: unknown) =>
    typeof value === "string" && value.startsWith(marker) ? Number(value.slice(marker.length)) : value,
  )
}

/** Reads a JSON object file written by Python (see {@link parsePythonJson}). */
export async function readPythonJsonObject(file: string, what: string): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = await readFile(file, "utf8")
  } catch (error) {
    throw new MissingModelFileError(file, `${what} "${file}" could not be read (${(error as Error).message}).`, { cause: error })
  }
  let parsed: unknown
  try {
    parsed = parsePythonJson(text)
  } catch (error) {
    throw new ModelConfigError(`${what} "${file}" is not valid JSON (${(error as Error).message}). Re-export or fix the file.`, { cause: error })
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ModelConfigError(`${what} "${file}" should hold a JSON object.`)
  }
  return parsed as Record<string, unknown>
}
