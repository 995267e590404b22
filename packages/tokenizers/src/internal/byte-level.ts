/**
 * GPT-2 byte-level mapping as used by CLIP: every UTF-8 byte maps to one printable character.
 * Port of `bytes_char` in tokenizers `pre_tokenizers/byte_level.rs` (and `bytes_to_unicode` in
 * transformers' tokenization_clip.py).
 */
import { compileOnig } from "./onig-regex.js"

function buildByteToChar(): string[] {
  const bytes: number[] = []
  for (let b = 0x21; b <= 0x7e; b++) bytes.push(b)
  for (let b = 0xa1; b <= 0xac; b++) bytes.push(b)
  for (let b = 0xae; b <= 0xff; b++) bytes.push(b)
  const chars = bytes.slice()
  let n = 0
  for (let b = 0; b < 256; b++) {
    if (!bytes.includes(b)) {
      bytes.push(b)
      chars.push(256 + n)
      n++
    }
  }
  const table = new Array<string>(256)
  bytes.forEach((b, i) => {
    table[b] = String.fromCodePoint(chars[i] as number)
  })
  return table
}

/** byte -> printable character. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar()
/** printable character -> byte. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]))

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder("utf-8", { fatal: false })

/** Map a string to its byte-level form (one character per UTF-8 byte). */
export function byteLevelEncode(text: string): string {
  let out = ""
  for (const b of utf8Encoder.encode(text)) out += BYTE_TO_CHAR[b] as string
  return out
}

/** Inverse of {@link byteLevelEncode}; characters outside the table are kept as UTF-8; invalid UTF-8 becomes U+FFFD. */
export function byteLevelDecode(text: string): string {
  const bytes: number[] = []
  for (const ch of text) {
    const b = CHAR_TO_BYTE.get(ch)
    if (b !== undefined) bytes.push(b)
    else for (const x of utf8Encoder.encode(ch)) bytes.push(x)
  }
  return utf8Decoder.decode(new Uint8Array(bytes))
}

/** GPT-2's split regex, applied by the ByteLevel pre-tokenizer when `use_regex` is true. */
export const GPT2_SPLIT = compileOnig("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+")
