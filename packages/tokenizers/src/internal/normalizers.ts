/**
 * tokenizer.json normalizers (Rust `tokenizers` `normalizers/*`) as plain string functions.
 * Offsets are not tracked: pagkit only needs ids.
 */
import { UnsupportedTokenizerError } from "../errors.js"
import { compileOnig, escapeLiteral, isWhitespace } from "./onig-regex.js"
import { PrecompiledCharsmap } from "./precompiled.js"
import { asArray, asRecord, asString, decodeBase64, type JsonContext } from "./json.js"

/** A normalizer rewrites one segment of text (between added tokens). */
export type Normalizer = (text: string) => string

const SUPPORTED = ["Sequence", "NFC", "NFD", "NFKC", "NFKD", "Lowercase", "Replace", "Strip", "Prepend", "Precompiled"]

/** Per-character lowercase, like Rust's `char::to_lowercase` (no final-sigma context, unlike `String#toLowerCase`). */
export function lowercaseChars(text: string): string {
  let out = ""
  for (const ch of text) out += ch.toLowerCase()
  return out
}

function trimWhitespace(text: string, left: boolean, right: boolean): string {
  const chars = Array.from(text)
  let start = 0
  let end = chars.length
  if (left) while (start < end && isWhitespace((chars[start] as string).codePointAt(0) as number)) start++
  if (right) while (end > start && isWhitespace((chars[end - 1] as string).codePointAt(0) as number)) end--
  return chars.slice(start, end).join("")
}

/** Build a normalizer from its tokenizer.json description (`null` means none). */
export function buildNormalizer(spec: unknown, ctx: JsonContext): Normalizer | undefined {
  if (spec === null || spec === undefined) return undefined
  const obj = asRecord(spec, ctx, "normalizer")
  const type = asString(obj["type"], ctx, "normalizer.type")
  switch (type) {
    case "Sequence": {
      const parts = asArray(obj["normalizers"], ctx, "normalizer.normalizers")
        .map((p) => buildNormalizer(p, ctx))
        .filter((p): p is Normalizer => p !== undefined)
      return (text) => parts.reduce((acc, n) => n(acc), text)
    }
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD":
      return (text) => text.normalize(type)
    case "Lowercase":
      return lowercaseChars
    case "Strip": {
      const left = obj["strip_left"] !== false
      const right = obj["strip_right"] !== false
      return (text) => trimWhitespace(text, left, right)
    }
    case "Prepend": {
      const prefix = asString(obj["prepend"], ctx, "normalizer.prepend")
      return (text) => (text.length === 0 ? text : prefix + text)
    }
    case "Replace": {
      const content = asString(obj["content"], ctx, "normalizer.content")
      const regex = patternToRegExp(obj["pattern"], ctx, "normalizer.pattern")
      return (text) => text.replace(regex, () => content)
    }
    case "Precompiled": {
      const blob = obj["precompiled_charsmap"]
      if (blob === null || blob === undefined || blob === "") return undefined
      const bytes = decodeBase64(asString(blob, ctx, "normalizer.precompiled_charsmap"), ctx, "precompiled_charsmap")
      const charsmap = ctx.wrap("normalizer.precompiled_charsmap", () => new PrecompiledCharsmap(bytes))
      return (text) => charsmap.normalize(text)
    }
    default:
      throw new UnsupportedTokenizerError(`normalizer in ${ctx.file}`, type, SUPPORTED)
  }
}

/** A tokenizer.json pattern (`{ "Regex": … }` or `{ "String": … }`) as a global JS RegExp. */
export function patternToRegExp(spec: unknown, ctx: JsonContext, where: string): RegExp {
  const pattern = asRecord(spec, ctx, where)
  if (typeof pattern["String"] === "string") return new RegExp(escapeLiteral(pattern["String"]), "gu")
  const source = asString(pattern["Regex"], ctx, `${where}.Regex`)
  return ctx.wrap(`${where}.Regex`, () => compileOnig(source))
}
