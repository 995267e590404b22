/**
 * SentencePiece unigram model, exact to tokenizers `models/unigram/model.rs` (`Unigram::encode_optimized`):
 * Viterbi over a trie of pieces with float64 scores, unknown characters scored `min_score − 10`,
 * consecutive unknown characters fused into one `unk` token, ties kept by the first candidate seen.
 */
import { TokenizerInputError } from "../errors.js"

/** Options of a unigram model, as tokenizer.json's `model` section gives them. */
export interface UnigramOptions {
  /** Pieces with their log-probability scores, in id order. */
  vocab: ReadonlyArray<readonly [string, number]>
  unkId: number | undefined
  byteFallback: boolean
}

const UNK_PENALTY = 10
const CACHE_CAPACITY = 10_000

interface TrieNode {
  children: Map<number, TrieNode>
  /** id of the piece ending here, if any */
  id: number
}

/** A unigram model: pieces in, ids out. */
export class UnigramModel {
  readonly tokenToId = new Map<string, number>()
  private readonly pieces: string[]
  private readonly scores: Float64Array
  private readonly root: TrieNode = { children: new Map(), id: -1 }
  private readonly unkScore: number
  private readonly cache = new Map<string, readonly number[]>()

  /** @throws Error when `unkId` is outside the vocabulary. */
  constructor(private readonly options: UnigramOptions) {
    const n = options.vocab.length
    this.pieces = new Array<string>(n)
    this.scores = new Float64Array(n)
    let minScore = Infinity
    options.vocab.forEach(([piece, score], id) => {
      this.pieces[id] = piece
      this.scores[id] = score
      // A repeated piece maps to its last id, as Unigram::from's HashMap::insert does.
      this.tokenToId.set(piece, id)
      if (score < minScore) minScore = score
      this.insert(piece, id)
    })
    if (options.unkId !== undefined && (options.unkId < 0 || options.unkId >= n)) {
      throw new Error(`unk_id ${options.unkId} is outside the vocabulary of ${n} pieces`)
    }
    this.unkScore = minScore - UNK_PENALTY
  }

  get size(): number {
    return this.pieces.length
  }

  idToToken(id: number): string | undefined {
    return this.pieces[id]
  }

  private insert(piece: string, id: number): void {
    let node = this.root
    for (const ch of piece) {
      const cp = ch.codePointAt(0) as number
      let next = node.children.get(cp)
      if (next === undefined) {
        next = { children: new Map(), id: -1 }
        node.children.set(cp, next)
      }
      node = next
    }
    // Trie::push keeps one leaf per key; the id is resolved through tokenToId afterwards.
    node.id = id
  }

  /** Ids of one pre-tokenized piece. */
  tokenize(piece: string): readonly number[] {
    if (piece.length === 0) return []
    const cached = this.cache.get(piece)
    if (cached !== undefined) return cached
    const ids = this.encodeToIds(piece)
    if (this.cache.size >= CACHE_CAPACITY) this.cache.clear()
    this.cache.set(piece, ids)
    return ids
  }

  private encodeToIds(piece: string): number[] {
    const ids: number[] = []
    for (const token of this.viterbi(piece)) {
      const id = this.tokenToId.get(token)
      if (id !== undefined) ids.push(id)
      else if (this.options.byteFallback) ids.push(...this.byteFallback(token))
      else if (this.options.unkId !== undefined) ids.push(this.options.unkId)
      else throw new TokenizerInputError(`the prompt contains "${token}", which this tokenizer cannot encode (not in its vocabulary, and it has no unk id). Remove or replace it.`)
    }
    return ids
  }

  private byteFallback(token: string): number[] {
    const ids: number[] = []
    for (const b of new TextEncoder().encode(token)) {
      const id = this.tokenToId.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`)
      if (id === undefined) return this.options.unkId === undefined ? [] : [this.options.unkId]
      ids.push(id)
    }
    return ids
  }

  /** Best segmentation of `piece` into token strings (unknown runs fused). */
  private viterbi(piece: string): string[] {
    const chars = Array.from(piece, (ch) => ch.codePointAt(0) as number)
    const size = chars.length
    const bestScore = new Float64Array(size + 1)
    const startsAt = new Int32Array(size + 1).fill(-1)
    const nodeId = new Int32Array(size + 1).fill(-1)
    const unkId = this.options.unkId ?? -1
    for (let start = 0; start < size; start++) {
      const scoreTillHere = bestScore[start] as number
      let hasSingleNode = false
      let node: TrieNode | undefined = this.root
      for (let end = start; end < size && node !== undefined; end++) {
        node = node.children.get(chars[end] as number)
        if (node === undefined || node.id < 0) continue
        const keyPos = end + 1
        const id = node.id
        const candidate = (this.scores[id] as number) + scoreTillHere
        if (startsAt[keyPos] === -1 || candidate > (bestScore[keyPos] as number)) {
          bestScore[keyPos] = candidate
          startsAt[keyPos] = start
          nodeId[keyPos] = id
        }
        if (keyPos === start + 1) hasSingleNode = true
      }
      if (!hasSingleNode) {
        const keyPos = start + 1
        const candidate = this.unkScore + scoreTillHere
        if (startsAt[keyPos] === -1 || candidate > (bestScore[keyPos] as number)) {
          bestScore[keyPos] = candidate
          startsAt[keyPos] = start
          nodeId[keyPos] = unkId
        }
      }
    }
    const results: string[] = []
    let unkRun: string[] = []
    for (let end = size; end > 0; ) {
      const start = startsAt[end] as number
      const text = String.fromCodePoint(...chars.slice(start, end))
      if (unkId >= 0 && nodeId[end] === unkId) unkRun.push(text)
      else {
        if (unkRun.length > 0) {
          results.push(unkRun.reverse().join(""))
          unkRun = []
        }
        results.push(text)
      }
      end = start
    }
    if (unkRun.length > 0) results.push(unkRun.reverse().join(""))
    return results.reverse()
  }
}
