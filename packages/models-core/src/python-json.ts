// Python's `json.dumps` writes non-finite floats as the bare tokens `NaN`, `Infinity` and `-Infinity` (diffusers'
// scheduler configs hold e.g. `"lambda_min_clipped": -Infinity`), which `JSON.parse` rejects.

const NON_FINITE_TOKENS = ["-Infinity", "Infinity", "NaN"] as const

/**
 * Parses JSON written by Python's `json.dumps`: the bare tokens `NaN`, `Infinity` and `-Infinity` (outside
 * strings) become the numbers `NaN` / `±Infinity`; everything else is standard JSON. Throws `SyntaxError` on
 * malformed input, like `JSON.parse`.
 *
 * @example
 * parsePythonJson('{"lambda_min_clipped": -Infinity}') // { lambda_min_clipped: -Infinity }
 */
export function parsePythonJson(text: string): unknown {
  // Replace the bare tokens outside strings with marker strings, then revive them.
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
    const token = NON_FINITE_TOKENS.find((t) => text.startsWith(t, i))
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
