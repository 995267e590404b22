/**
 * SentencePiece's `precompiled_charsmap` normalizer (a Darts double-array trie over UTF-8 bytes plus a
 * blob of NUL-terminated replacement strings), applied the way Rust `tokenizers` applies it: per
 * extended grapheme cluster, the whole cluster first when it is shorter than 6 bytes, else char by char.
 * Port of `spm_precompiled` (`DoubleArray::common_prefix_search`, `Precompiled::transform`) and
 * tokenizers `normalizers/precompiled.rs` (`Normalizer for Precompiled`).
 */

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder("utf-8", { fatal: true })
const lenientDecoder = new TextDecoder("utf-8")

/** A parsed charsmap; `normalize` rewrites a string. */
export class PrecompiledCharsmap {
  private readonly trie: Uint32Array
  private readonly normalized: Uint8Array
  private readonly cache = new Map<string, string | null>()
  private static segmenter: Intl.Segmenter | undefined

  /** @throws Error when the blob is truncated or its replacement strings are not UTF-8. */
  constructor(charsmap: Uint8Array) {
    if (charsmap.byteLength < 4) throw new Error("precompiled_charsmap is shorter than its 4-byte header")
    const view = new DataView(charsmap.buffer, charsmap.byteOffset, charsmap.byteLength)
    const trieBytes = view.getUint32(0, true)
    if (trieBytes % 4 !== 0 || 4 + trieBytes > charsmap.byteLength) {
      throw new Error(`precompiled_charsmap declares a ${trieBytes}-byte trie in a ${charsmap.byteLength}-byte blob`)
    }
    this.trie = new Uint32Array(trieBytes / 4)
    for (let i = 0; i < this.trie.length; i++) this.trie[i] = view.getUint32(4 + 4 * i, true)
    this.normalized = charsmap.subarray(4 + trieBytes)
    utf8Decoder.decode(this.normalized) // validate, as spm_precompiled does
    if (this.trie.length === 0) throw new Error("precompiled_charsmap has an empty trie")
  }

  /** Values of every prefix of `key` present in the trie, shortest first. */
  private commonPrefixSearch(key: Uint8Array): number[] {
    const trie = this.trie
    const results: number[] = []
    let unit = trie[0] as number
    let nodePos = offset(unit)
    for (const c of key) {
      if (c === 0) break
      nodePos ^= c
      unit = trie[nodePos] ?? 0
      if (label(unit) !== c) return results
      nodePos ^= offset(unit)
      if (hasLeaf(unit)) results.push(value(trie[nodePos] ?? 0))
    }
    return results
  }

  /** The replacement for `chunk` (shortest matching prefix, as spm_precompiled does), or null. */
  transform(chunk: string): string | null {
    const cached = this.cache.get(chunk)
    if (cached !== undefined) return cached
    const results = this.commonPrefixSearch(utf8Encoder.encode(chunk))
    let out: string | null = null
    const start = results[0]
    if (start !== undefined) {
      let end = start
      while (end < this.normalized.length && this.normalized[end] !== 0) end++
      out = lenientDecoder.decode(this.normalized.subarray(start, end))
    }
    if (this.cache.size > 50_000) this.cache.clear()
    this.cache.set(chunk, out)
    return out
  }

  /** Normalize a whole string. */
  normalize(text: string): string {
    if (text.length === 0) return text
    PrecompiledCharsmap.segmenter ??= new Intl.Segmenter(undefined, { granularity: "grapheme" })
    let out = ""
    for (const { segment: grapheme } of PrecompiledCharsmap.segmenter.segment(text)) {
      if (utf8Length(grapheme) < 6) {
        const whole = this.transform(grapheme)
        if (whole !== null) {
          out += whole
          continue
        }
      }
      for (const ch of grapheme) {
        const part = this.transform(ch)
        out += part === null ? ch : part
      }
    }
    return out
  }
}

function hasLeaf(unit: number): boolean {
  return ((unit >>> 8) & 1) === 1
}
function value(unit: number): number {
  return unit & 0x7fffffff
}
function label(unit: number): number {
  return (unit & 0x800000ff) >>> 0
}
function offset(unit: number): number {
  return (unit >>> 10) << ((unit & (1 << 9)) >>> 6)
}

function utf8Length(text: string): number {
  let n = 0
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number
    n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4
  }
  return n
}
