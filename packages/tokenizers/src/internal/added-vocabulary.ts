/**
 * Added tokens (`added_tokens` of tokenizer.json): they are cut out of the text before normalization,
 * leftmost-longest, like `AddedVocabulary::find_matches` in tokenizers `tokenizer/added_vocabulary.rs`.
 * Tokens with `normalized: true` are matched after normalization instead.
 */
import { isWhitespace } from "./onig-regex.js"

/** One added token as tokenizer.json describes it. */
export interface AddedToken {
  id: number
  content: string
  special: boolean
  normalized: boolean
  lstrip: boolean
  rstrip: boolean
  singleWord: boolean
}

/** A piece of text: either plain text (`id` undefined) or an added token. */
export interface Segment {
  text: string
  id: number | undefined
}

const WORD_CHAR = /[\p{L}\p{M}\p{Nd}\p{Pc}]/u

/** Matches added tokens in text. */
export class AddedTokenMatcher {
  private readonly byFirstChar = new Map<string, AddedToken[]>()

  constructor(tokens: readonly AddedToken[]) {
    for (const token of tokens) {
      if (token.content.length === 0) continue
      const first = String.fromCodePoint(token.content.codePointAt(0) as number)
      const list = this.byFirstChar.get(first) ?? []
      list.push(token)
      this.byFirstChar.set(first, list)
    }
    // Longest first, so the first hit at a position is the leftmost-longest match.
    for (const list of this.byFirstChar.values()) list.sort((a, b) => b.content.length - a.content.length)
  }

  get isEmpty(): boolean {
    return this.byFirstChar.size === 0
  }

  /** Split `text` into plain segments and added-token segments. */
  split(text: string): Segment[] {
    if (this.isEmpty || text.length === 0) return [{ text, id: undefined }]
    const segments: Segment[] = []
    let startOffset = 0
    let i = 0
    while (i < text.length) {
      const cp = text.codePointAt(i) as number
      const width = cp > 0xffff ? 2 : 1
      const candidates = this.byFirstChar.get(String.fromCodePoint(cp))
      const hit = candidates?.find((t) => text.startsWith(t.content, i) && this.acceptable(t, text, i))
      if (hit === undefined) {
        i += width
        continue
      }
      let start = i
      let stop = i + hit.content.length
      if (hit.lstrip) {
        let s = start
        while (s > startOffset && isWhitespace(text.charCodeAt(s - 1))) s--
        start = s
      }
      if (hit.rstrip) while (stop < text.length && isWhitespace(text.charCodeAt(stop))) stop++
      if (startOffset < start) segments.push({ text: text.slice(startOffset, start), id: undefined })
      segments.push({ text: text.slice(start, stop), id: hit.id })
      startOffset = stop
      i = stop
    }
    if (startOffset < text.length) segments.push({ text: text.slice(startOffset), id: undefined })
    return segments
  }

  private acceptable(token: AddedToken, text: string, at: number): boolean {
    if (!token.singleWord) return true
    const before = at === 0 ? "" : text.slice(Math.max(0, at - 2), at)
    const afterIndex = at + token.content.length
    const after = text.slice(afterIndex, afterIndex + 2)
    const lastBefore = Array.from(before).pop()
    const firstAfter = Array.from(after)[0]
    return !(lastBefore !== undefined && WORD_CHAR.test(lastBefore)) && !(firstAfter !== undefined && WORD_CHAR.test(firstAfter))
  }
}
