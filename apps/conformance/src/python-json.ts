/**
 * Parses JSON written by Python's `json.dumps`, which may contain the bare tokens `NaN`, `Infinity` and
 * `-Infinity`. They become `NaN` / `±Infinity` numbers; everything else is standard JSON.
 */
export function parsePythonJson(text: string): unknown {
  const marker = "__pagkit_nonfinite__"
  // Replace the bare tokens outside strings with marker strings, then revive them.
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
    const token = ["-Infinity", "Infinity", "NaN"].find((t) => text.startsWith(t, i))
    if (token !== undefined) {
      out += `"${marker}${token}"`
      i += token.length - 1
      continue
    }
    out += ch
  }
  return JSON.parse(out, (_key, value: unknown) =>
    typeof value === "string" && value.startsWith(marker) ? Number(value.slice(marker.length)) : value,
  )
}
