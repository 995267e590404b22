/**
 * The 32-bit Mersenne Twister exactly as torch's CPU generator runs it
 * (`aten/src/ATen/core/MT19937RNGEngine.h`, class `mt19937`): seeded with the
 * low 32 bits of the seed by the reference `init_genrand` recurrence.
 */

import { InvalidGeneratorStateError } from "./errors.js"

const N = 624
const M = 397
const MATRIX_A = 0x9908b0df
const UPPER_MASK = 0x80000000
const LOWER_MASK = 0x7fffffff

/** A snapshot of the engine: the 624-word state and the read position. */
export interface Mt19937State {
  readonly words: Uint32Array
  readonly index: number
}

/** The MT19937 engine: `nextU32()` returns the same stream as torch's `mt19937::operator()`. */
export class Mt19937 {
  private readonly words = new Uint32Array(N)
  /** Next word to temper; `N` means the block must be regenerated first. */
  private index = N

  constructor(seed32: number) {
    const words = this.words
    words[0] = seed32 >>> 0
    for (let j = 1; j < N; j++) {
      const prev = words[j - 1]!
      const x = (prev ^ (prev >>> 30)) >>> 0
      // 1812433253 * x + j modulo 2^32
      words[j] = (Math.imul(1812433253, x) + j) >>> 0
    }
  }

  /** Next tempered 32-bit output, as an unsigned number. */
  nextU32(): number {
    if (this.index >= N) this.twist()
    let y = this.words[this.index++]!
    y ^= y >>> 11
    y ^= (y << 7) & 0x9d2c5680
    y ^= (y << 15) & 0xefc60000
    y ^= y >>> 18
    return y >>> 0
  }

  /** A copy of the state, for {@link Mt19937.restore}. */
  snapshot(): Mt19937State {
    return { words: this.words.slice(), index: this.index }
  }

  /** Puts the engine back to a snapshot. */
  restore(state: Mt19937State): void {
    if (state.words.length !== N || !Number.isInteger(state.index) || state.index < 0 || state.index > N) {
      throw new InvalidGeneratorStateError(
        `mt19937 state must hold ${N} words and an index in [0, ${N}], found ${state.words.length} words and index ${state.index}. Pass a value returned by getState().`,
      )
    }
    this.words.set(state.words)
    this.index = state.index
  }

  private twist(): void {
    const w = this.words
    let kk = 0
    for (; kk < N - M; kk++) {
      const y = (w[kk]! & UPPER_MASK) | (w[kk + 1]! & LOWER_MASK)
      w[kk] = w[kk + M]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0)
    }
    for (; kk < N - 1; kk++) {
      const y = (w[kk]! & UPPER_MASK) | (w[kk + 1]! & LOWER_MASK)
      w[kk] = w[kk + (M - N)]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0)
    }
    const y = (w[N - 1]! & UPPER_MASK) | (w[0]! & LOWER_MASK)
    w[N - 1] = w[M - 1]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0)
    this.index = 0
  }
}
