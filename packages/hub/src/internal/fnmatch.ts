// Port of Python's fnmatch.translate (CPython Lib/fnmatch.py), as huggingface_hub's filter_repo_objects uses it for
// allow_patterns / ignore_patterns: `*` and `?` also match `/`, `[seq]` and `[!seq]` are character classes.

const cache = new Map<string, RegExp>()

/** Whether `name` matches the shell-style `pattern` with Python's `fnmatch.fnmatch` rules (case-sensitive). */
export function fnmatch(name: string, pattern: string): boolean {
  let re = cache.get(pattern)
  if (re === undefined) {
    re = new RegExp(`^${translate(pattern)}$`, "s")
    cache.set(pattern, re)
  }
  return re.test(name)
}

function translate(pattern: string): string {
  let out = ""
  let i = 0
  while (i < pattern.length) {
    const c = pattern[i++] as string
    if (c === "*") {
      out += ".*"
      while (pattern[i] === "*") i++
    } else if (c === "?") {
      out += "."
    } else if (c === "[") {
      let j = i
      if (pattern[j] === "!") j++
      if (pattern[j] === "]") j++
      while (j < pattern.length && pattern[j] !== "]") j++
      if (j >= pattern.length) {
        out += "\\["
      } else {
        let body = pattern.slice(i, j).replace(/\\/g, "\\\\")
        i = j + 1
        if (body.startsWith("!")) body = `^${body.slice(1)}`
        else if (body.startsWith("^")) body = `\\${body}`
        out += `[${body}]`
      }
    } else {
      out += c.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&")
    }
  }
  return out
}

/**
 * huggingface_hub's `filter_repo_objects`: keep a path when it matches one allow pattern (or none are given) and no
 * ignore pattern. A pattern ending in `/` means everything under that folder.
 */
export function filterPaths(
  paths: readonly string[],
  allow: readonly string[] | undefined,
  ignore: readonly string[] | undefined,
): string[] {
  const norm = (p: string): string => (p.endsWith("/") ? `${p}*` : p)
  const allowN = allow?.map(norm)
  const ignoreN = (ignore ?? []).map(norm)
  return paths.filter((path) => (allowN === undefined || allowN.some((p) => fnmatch(path, p))) && !ignoreN.some((p) => fnmatch(path, p)))
}
