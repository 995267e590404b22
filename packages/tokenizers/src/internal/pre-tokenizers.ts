/**
 * tokenizer.json pre-tokenizers (Rust `tokenizers` `pre_tokenizers/*`) as functions from pieces to pieces.
 * Split semantics follow `NormalizedString::split` and `Pattern::find_matches` (tokenizer/normalizer.rs,
 * tokenizer/pattern.rs); empty pieces are dropped as `PreTokenizedString::split` does.
 */
import { UnsupportedTokenizerError } from "../errors.js"
import { byteLevelEncode, GPT2_SPLIT } from "./byte-level.js"
import { asArray, asRecord, asString, type JsonContext } from "./json.js"
import { patternToRegExp } from "./normalizers.js"
import { isWhitespace } from "./onig-regex.js"

/** A pre-tokenizer maps the current pieces to finer pieces. */
export type PreTokenizer = (pieces: string[]) => string[]

/** `SplitDelimiterBehavior` of tokenizers. */
export type SplitBehavior = "Removed" | "Isolated" | "MergedWithPrevious" | "MergedWithNext" | "Contiguous"
const BEHAVIORS: readonly SplitBehavior[] = ["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"]

/** One span of a string and whether the pattern matched it. */
type Span = [start: number, end: number, isMatch: boolean]

/** `Pattern::find_matches` for a global regex: spans covering the whole string. */
export function regexSpans(text: string, regex: RegExp): Span[] {
  if (text.length === 0) return [[0, 0, false]]
  const spans: Span[] = []
  let prev = 0
  regex.lastIndex = 0
  for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
    if (m[0].length === 0) {
      regex.lastIndex++
      continue
    }
    if (prev !== m.index) spans.push([prev, m.index, false])
    spans.push([m.index, m.index + m[0].length, true])
    prev = m.index + m[0].length
  }
  if (prev !== text.length) spans.push([prev, text.length, false])
  return spans
}

/** `Pattern::find_matches` for a per-character predicate (each matching char is its own span). */
export function charSpans(text: string, predicate: (codePoint: number) => boolean): Span[] {
  if (text.length === 0) return [[0, 0, false]]
  const spans: Span[] = []
  let last = 0
  let i = 0
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number
    const end = i + ch.length
    if (predicate(cp)) {
      if (last < i) spans.push([last, i, false])
      spans.push([i, end, true])
      last = end
    }
    i = end
  }
  if (i > last) spans.push([last, i, false])
  return spans
}

/** `NormalizedString::split`: apply a delimiter behavior to spans and cut the text. */
export function splitSpans(text: string, spans: Span[], behavior: SplitBehavior): string[] {
  let parts: Array<[number, number, boolean]> // [start, end, remove]
  if (behavior === "Isolated") parts = spans.map(([s, e]) => [s, e, false])
  else if (behavior === "Removed") parts = spans
  else if (behavior === "Contiguous" || behavior === "MergedWithPrevious") {
    parts = []
    let previousMatch = false
    for (const [s, e, isMatch] of spans) {
      const merge = behavior === "Contiguous" ? isMatch === previousMatch : isMatch && !previousMatch
      const last = parts[parts.length - 1]
      if (merge && last !== undefined) last[1] = e
      else parts.push([s, e, false])
      previousMatch = isMatch
    }
  } else {
    parts = []
    let previousMatch = false
    for (let k = spans.length - 1; k >= 0; k--) {
      const [s, e, isMatch] = spans[k] as Span
      const last = parts[parts.length - 1]
      if (isMatch && !previousMatch && last !== undefined) last[0] = s
      else parts.push([s, e, false])
      previousMatch = isMatch
    }
    parts.reverse()
  }
  const out: string[] = []
  for (const [s, e, remove] of parts) if (!remove && e > s) out.push(text.slice(s, e))
  return out
}

const SUPPORTED = ["Sequence", "Split", "ByteLevel", "WhitespaceSplit", "Whitespace", "Metaspace"]

/** Build a pre-tokenizer from its tokenizer.json description (`null` means none). */
export function buildPreTokenizer(spec: unknown, ctx: JsonContext): PreTokenizer | undefined {
  if (spec === null || spec === undefined) return undefined
  const obj = asRecord(spec, ctx, "pre_tokenizer")
  const type = asString(obj["type"], ctx, "pre_tokenizer.type")
  switch (type) {
    case "Sequence": {
      const steps = asArray(obj["pretokenizers"], ctx, "pre_tokenizer.pretokenizers")
        .map((p) => buildPreTokenizer(p, ctx))
        .filter((p): p is PreTokenizer => p !== undefined)
      return (pieces) => steps.reduce((acc, step) => step(acc), pieces)
    }
    case "Split": {
      const regex = patternToRegExp(obj["pattern"], ctx, "pre_tokenizer.pattern")
      const behavior = asString(obj["behavior"], ctx, "pre_tokenizer.behavior") as SplitBehavior
      if (!BEHAVIORS.includes(behavior)) ctx.fail("pre_tokenizer.behavior", `unknown behavior ${behavior}`)
      const invert = obj["invert"] === true
      return (pieces) =>
        pieces.flatMap((piece) => {
          const spans = regexSpans(piece, regex)
          if (invert) for (const span of spans) span[2] = !span[2]
          return splitSpans(piece, spans, behavior)
        })
    }
    case "ByteLevel": {
      const addPrefixSpace = obj["add_prefix_space"] === true
      const useRegex = obj["use_regex"] !== false
      return (pieces) =>
        pieces.flatMap((piece) => {
          const text = addPrefixSpace && !piece.startsWith(" ") ? ` ${piece}` : piece
          const parts = useRegex ? splitSpans(text, regexSpans(text, GPT2_SPLIT), "Isolated") : [text]
          return parts.map(byteLevelEncode)
        })
    }
    case "WhitespaceSplit":
      return (pieces) => pieces.flatMap((piece) => splitSpans(piece, charSpans(piece, isWhitespace), "Removed"))
    case "Whitespace": {
      const regex = /[\p{L}\p{M}\p{Nd}\p{Pc}]+|[^\p{L}\p{M}\p{Nd}\p{Pc}\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/gu
      return (pieces) =>
        pieces.flatMap((piece) => {
          const spans = regexSpans(piece, regex)
          for (const span of spans) span[2] = !span[2]
          return splitSpans(piece, spans, "Removed")
        })
    }
    case "Metaspace":
      return buildMetaspace(obj, ctx)
    default:
      throw new UnsupportedTokenizerError(`pre-tokenizer in ${ctx.file}`, type, SUPPORTED)
  }
}

/** The `prepend_scheme` of a Metaspace pre-tokenizer or decoder (legacy `add_prefix_space` understood). */
export function metaspaceScheme(obj: Record<string, unknown>): "always" | "first" | "never" {
  const scheme = obj["prepend_scheme"]
  if (scheme === "first" || scheme === "never" || scheme === "always") return scheme
  return obj["add_prefix_space"] === false ? "never" : "always"
}

function buildMetaspace(obj: Record<string, unknown>, ctx: JsonContext): PreTokenizer {
  const replacement = asString(obj["replacement"] ?? "\u2581", ctx, "pre_tokenizer.replacement")
  const scheme = metaspaceScheme(obj)
  // "first" depends on original offsets (a piece after leading spaces or an added token gets no prefix),
  // which pagkit does not track: refuse it rather than give different ids.
  if (scheme === "first") {
    throw new UnsupportedTokenizerError(`Metaspace prepend_scheme in ${ctx.file}`, "first", ["always", "never"])
  }
  const split = obj["split"] !== false
  const replacementCode = replacement.codePointAt(0) as number
  return (pieces) =>
    pieces.flatMap((piece) => {
      let text = piece.replaceAll(" ", replacement)
      if (scheme === "always" && !text.startsWith(replacement)) text = replacement + text
      return split ? splitSpans(text, charSpans(text, (cp) => cp === replacementCode), "MergedWithNext") : [text]
    })
}
