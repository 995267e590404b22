/**
 * Byte-pair encoding model (CLIP flavour: `end_of_word_suffix` "</w>"), exact to tokenizers
 * `models/bpe/model.rs` (`BPE::merge_word`) and `models/bpe/word.rs` (`Word::merge_all`): at each step the
 * adjacent pair with the lowest merge rank is merged, the leftmost one on ties.
 */
import { TokenizerInputError } from "../errors.js"

/** Options of a BPE model, as tokenizer.json's `model` section gives them. */
export interface BpeOptions {
  vocab: ReadonlyMap<string, number>
  /** Merges in rank order, each a pair of token strings. */
  merges: ReadonlyArray<readonly [string, string]>
  unkToken: string | undefined
  endOfWordSuffix: string
  continuingSubwordPrefix: string
  fuseUnk: boolean
  ignoreMerges: boolean
}

const MAX_ID = 1 << 21
const CACHE_CAPACITY = 10_000

/** A BPE model: token strings in, ids out, with a word cache. */
export class BpeModel {
  readonly vocab: ReadonlyMap<string, number>
  private readonly idToTokenTable: string[] = []
  /** pairKey(a, b) -> rank * MAX_ID + mergedId */
  private readonly merges = new Map<number, number>()
  private readonly unkId: number | undefined
  private readonly cache = new Map<string, readonly number[]>()

  /** @throws Error when a merge names a token that is not in the vocabulary. */
  constructor(private readonly options: BpeOptions) {
    this.vocab = options.vocab
    for (const [token, id] of options.vocab) {
      if (id >= MAX_ID) throw new Error(`token id ${id} is too large`)
      this.idToTokenTable[id] = token
    }
    const prefixLength = options.continuingSubwordPrefix.length
    options.merges.forEach(([a, b], rank) => {
      const aId = options.vocab.get(a)
      const bId = options.vocab.get(b)
      // tokenizers strips the continuing-subword prefix of the right part when forming the merged token
      const merged = a + (prefixLength > 0 && b.startsWith(options.continuingSubwordPrefix) ? b.slice(prefixLength) : b)
      const mergedId = options.vocab.get(merged)
      if (aId === undefined || bId === undefined) throw new Error(`merge ${rank} "${a} ${b}" uses a token missing from the vocabulary`)
      if (mergedId === undefined) throw new Error(`merge ${rank} "${a} ${b}" makes "${merged}", which is missing from the vocabulary`)
      const key = aId * MAX_ID + bId
      this.merges.set(key, rank * MAX_ID + mergedId) // a repeated pair keeps its last rank, as HashMap::collect does
    })
    this.unkId = options.unkToken === undefined ? undefined : options.vocab.get(options.unkToken)
  }

  get size(): number {
    return this.vocab.size
  }

  idToToken(id: number): string | undefined {
    return this.idToTokenTable[id]
  }

  /** Ids of one pre-tokenized piece. */
  tokenize(piece: string): readonly number[] {
    if (piece.length === 0) return []
    const cached = this.cache.get(piece)
    if (cached !== undefined) return cached
    const ids = this.mergeWord(piece)
    if (this.cache.size >= CACHE_CAPACITY) this.cache.clear()
    this.cache.set(piece, ids)
    return ids
  }

  private mergeWord(piece: string): number[] {
    const { vocab, endOfWordSuffix, continuingSubwordPrefix, fuseUnk, ignoreMerges } = this.options
    if (ignoreMerges) {
      const whole = vocab.get(piece)
      if (whole !== undefined) return [whole]
    }
    const chars = Array.from(piece)
    const symbols: number[] = []
    let pendingUnk = false
    chars.forEach((ch, i) => {
      let s = ch
      if (i > 0) s = continuingSubwordPrefix + s
      if (i === chars.length - 1) s += endOfWordSuffix
      const id = vocab.get(s)
      if (id !== undefined) {
        symbols.push(id)
        pendingUnk = false
        return
      }
      if (this.unkId === undefined) {
        throw new TokenizerInputError(`the prompt contains "${s}", which this tokenizer cannot encode (not in its vocabulary, and it has no unk token). Remove or replace it.`)
      }
      if (!(fuseUnk && pendingUnk)) symbols.push(this.unkId)
      pendingUnk = true
    })
    for (;;) {
      let bestIndex = -1
      let bestValue = Infinity
      for (let i = 0; i + 1 < symbols.length; i++) {
        const value = this.merges.get((symbols[i] as number) * MAX_ID + (symbols[i + 1] as number))
        if (value !== undefined && value < bestValue) {
          bestValue = value
          bestIndex = i
        }
      }
      if (bestIndex < 0) break
      symbols.splice(bestIndex, 2, bestValue % MAX_ID)
    }
    return symbols
  }
}
