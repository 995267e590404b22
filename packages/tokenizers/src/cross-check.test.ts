/**
 * Cross-check against an independent implementation, `@huggingface/tokenizers` (tokenizers.js, pure JS,
 * devDependency only), on thousands of generated prompts. Its known departures from Rust `tokenizers` —
 * context-sensitive final sigma in lowercase, JS `\s` (U+FEFF yes, U+0085 no), an approximate charsmap —
 * are kept out of the alphabet; the package's own tests pin pagkit's (Rust) behaviour there.
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { Tokenizer as ReferenceTokenizer } from "@huggingface/tokenizers"
import { tinyModelPath } from "@pagkit/tiny-models"
import { loadTokenizer } from "./load-tokenizer.js"

const ALPHABET = Array.from(
  " abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"()[]{}-_/\\@#$%^&*+=<>|~`" +
    "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿÀÉÎÕÜßœ€£¥©®°±µ¶·¿¡«»" +
    "日本語中文한국어テストカタカナひらがな漢字абвгдежзийклмнопрстуфхцчшщъыьэюяАБВГДαβγδεζηθικλμνξοπρστυφχψω\t\n  ",
)
const WORDS = ["cat", "dog", "photo", "astronaut", "riding", "horse", "the", "'s", "don't", "4k", "highly", "detailed"]

/** Deterministic prompts: random characters, and random word salads. */
function* prompts(count: number, seed: number): Generator<string> {
  let state = seed
  const next = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648
    return state
  }
  for (let k = 0; k < count; k++) {
    let prompt = ""
    const length = 1 + (next() % 60)
    for (let i = 0; i < length; i++) {
      prompt += k % 2 === 0 ? ALPHABET[next() % ALPHABET.length] : `${WORDS[next() % WORDS.length]}${" ,!".charAt(next() % 3)}`
    }
    yield prompt
  }
}

function reference(folder: string): ReferenceTokenizer {
  const read = (name: string): object => JSON.parse(readFileSync(`${folder}/${name}`, "utf8")) as object
  return new ReferenceTokenizer(read("tokenizer.json"), read("tokenizer_config.json"))
}

const FOLDERS = [
  `${tinyModelPath("tiny-sdxl")}/tokenizer`,
  `${tinyModelPath("tiny-sdxl")}/tokenizer_2`,
  `${tinyModelPath("tiny-pixart-sigma")}/tokenizer`,
]

describe("agreement with @huggingface/tokenizers", () => {
  for (const folder of FOLDERS) {
    it(`gives the same ids for 1500 prompts: ${folder.split("/").slice(-2).join("/")}`, async () => {
      const ours = await loadTokenizer(folder)
      const theirs = reference(folder)
      let mismatches = 0
      for (const prompt of prompts(1500, 42)) {
        const expected = theirs.encode(prompt).ids
        const actual = ours.encodeText(prompt)
        if (JSON.stringify(actual) !== JSON.stringify(expected)) {
          mismatches++
          expect(actual, JSON.stringify(prompt)).toEqual(expected)
        }
      }
      expect(mismatches).toBe(0)
    })
  }
})
