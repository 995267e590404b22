/** tokenizer.json decoders (Rust `tokenizers` `decoders/*`): token strings back to text. */
import { UnsupportedTokenizerError } from "../errors.js"
import { byteLevelDecode } from "./byte-level.js"
import { asArray, asInteger, asRecord, asString, type JsonContext } from "./json.js"
import { metaspaceScheme } from "./pre-tokenizers.js"

/** `Decoder::decode_chain`: tokens in, (fewer or rewritten) tokens out; the final text is their concatenation. */
export type DecodeChain = (tokens: string[]) => string[]

const SUPPORTED = ["Sequence", "ByteLevel", "Metaspace", "BPEDecoder", "Replace", "Strip", "Fuse"]

/** Build a decoder from its tokenizer.json description (`null`: tokens are joined as they are). */
export function buildDecoder(spec: unknown, ctx: JsonContext): DecodeChain {
  if (spec === null || spec === undefined) return (tokens) => tokens
  const obj = asRecord(spec, ctx, "decoder")
  const type = asString(obj["type"], ctx, "decoder.type")
  switch (type) {
    case "Sequence": {
      const steps = asArray(obj["decoders"], ctx, "decoder.decoders").map((d) => buildDecoder(d, ctx))
      return (tokens) => steps.reduce((acc, step) => step(acc), tokens)
    }
    case "ByteLevel":
      return (tokens) => [byteLevelDecode(tokens.join(""))]
    case "Metaspace": {
      const replacement = asString(obj["replacement"] ?? "\u2581", ctx, "decoder.replacement")
      const scheme = metaspaceScheme(obj)
      return (tokens) =>
        tokens.map((token, i) => {
          const text = token.replaceAll(replacement, " ")
          return scheme !== "never" && i === 0 && text.startsWith(" ") ? text.slice(1) : text
        })
    }
    case "BPEDecoder": {
      const suffix = asString(obj["suffix"] ?? "</w>", ctx, "decoder.suffix")
      return (tokens) => tokens.map((t, i) => t.replaceAll(suffix, i === tokens.length - 1 ? "" : " "))
    }
    case "Replace": {
      const pattern = asRecord(obj["pattern"], ctx, "decoder.pattern")
      const from = asString(pattern["String"], ctx, "decoder.pattern.String")
      const to = asString(obj["content"], ctx, "decoder.content")
      return (tokens) => tokens.map((t) => t.replaceAll(from, to))
    }
    case "Strip": {
      const content = asString(obj["content"], ctx, "decoder.content")
      const start = asInteger(obj["start"] ?? 0, ctx, "decoder.start")
      const stop = asInteger(obj["stop"] ?? 0, ctx, "decoder.stop")
      return (tokens) =>
        tokens.map((t) => {
          const chars = Array.from(t)
          let a = 0
          let b = chars.length
          while (a < start && chars[a] === content) a++
          while (chars.length - b < stop && b > a && chars[b - 1] === content) b--
          return chars.slice(a, b).join("")
        })
    }
    case "Fuse":
      return (tokens) => [tokens.join("")]
    default:
      throw new UnsupportedTokenizerError(`decoder in ${ctx.file}`, type, SUPPORTED)
  }
}
