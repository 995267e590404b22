/**
 * Translate the Oniguruma patterns found in tokenizer.json files (Rust `tokenizers` compiles them with
 * onig, Ruby syntax, UTF-8) into JavaScript `u`-mode regular expressions.
 *
 * Differences handled: `\s` is Unicode White_Space in onig (it has U+0085 and lacks U+FEFF, unlike JS),
 * `\d`/`\w` are Unicode-aware, and identity escapes such as `\'` are errors in JS `u` mode.
 */

/** Unicode White_Space, the set onig's `\s` and Rust's `char::is_whitespace` use (ranges, no brackets). */
export const WHITESPACE_RANGES = "\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"

const WHITESPACE_CHARS = new Set<number>([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005,
  0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
])

/** Rust's `char::is_whitespace` (Unicode White_Space). */
export function isWhitespace(codePoint: number): boolean {
  return WHITESPACE_CHARS.has(codePoint)
}

const DIGIT = "\\p{Nd}"
const WORD = "\\p{L}\\p{M}\\p{Nd}\\p{Pc}"
/** Escapes that mean the same in JS `u` mode and onig. */
const SAME_ESCAPES = new Set(["n", "r", "t", "f", "v", "b", "B", "p", "P", "u", "x", "0"])
/** Characters that must stay escaped to be literal in JS `u` mode. */
const SYNTAX = new Set(["^", "$", "\\", ".", "*", "+", "?", "(", ")", "[", "]", "{", "}", "|", "/", "-"])

/**
 * Convert an onig pattern to JS source for `new RegExp(source, "gu")`.
 * Throws `Error` for constructs with no faithful translation (caller wraps it).
 */
export function onigToJsSource(pattern: string): string {
  let out = ""
  let inClass = false
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string
    if (ch === "\\") {
      const next = pattern[i + 1]
      if (next === undefined) throw new Error(`pattern ends with a lone backslash: ${pattern}`)
      i++
      if (next === "s") out += inClass ? WHITESPACE_RANGES : `[${WHITESPACE_RANGES}]`
      else if (next === "S") {
        if (inClass) throw new Error(`\\S inside a character class is not supported: ${pattern}`)
        out += `[^${WHITESPACE_RANGES}]`
      } else if (next === "d") out += inClass ? DIGIT : `[${DIGIT}]`
      else if (next === "D") {
        if (inClass) throw new Error(`\\D inside a character class is not supported: ${pattern}`)
        out += `[^${DIGIT}]`
      } else if (next === "w") out += inClass ? WORD : `[${WORD}]`
      else if (next === "W") {
        if (inClass) throw new Error(`\\W inside a character class is not supported: ${pattern}`)
        out += `[^${WORD}]`
      } else if (next === "p" || next === "P") {
        // \p{L}, \p{^L} (onig negation) -> \P{L}
        const close = pattern.indexOf("}", i)
        if (pattern[i + 1] !== "{" || close < 0) throw new Error(`bad property escape in ${pattern}`)
        let name = pattern.slice(i + 2, close)
        let negated = next === "P"
        if (name.startsWith("^")) {
          negated = !negated
          name = name.slice(1)
        }
        out += `\\${negated ? "P" : "p"}{${name}}`
        i = close
      } else if (SAME_ESCAPES.has(next) || SYNTAX.has(next)) out += `\\${next}`
      else if (/[A-Za-z1-9]/.test(next)) throw new Error(`unsupported escape \\${next} in ${pattern}`)
      else out += next
      continue
    }
    if (inClass) {
      if (ch === "]") inClass = false
      else if (ch === "[") throw new Error(`nested character classes are not supported: ${pattern}`)
      out += ch
      continue
    }
    if (ch === "[") {
      inClass = true
      out += ch
      if (pattern[i + 1] === "^") {
        out += "^"
        i++
      }
      if (pattern[i + 1] === "]") {
        // a leading "]" is literal in onig
        out += "\\]"
        i++
      }
      continue
    }
    out += ch
  }
  return out
}

/** Compile an onig pattern into a global, Unicode JS RegExp. */
export function compileOnig(pattern: string): RegExp {
  return new RegExp(onigToJsSource(pattern), "gu")
}

/** Escape a literal string for use in a JS `u`-mode RegExp. */
export function escapeLiteral(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&")
}
