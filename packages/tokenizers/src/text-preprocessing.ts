/** Characters Python's `str.isspace()` accepts (bidi WS/B/S or category Zs), which `str.strip()` removes. */
const PYTHON_SPACE = /^[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g

/**
 * What diffusers' PixArt pipelines do to a prompt before the T5 tokenizer when `clean_caption=False`
 * (the default): `text.lower().strip()` (`PixArtSigmaPipeline._text_preprocessing`). Python's `lower()`
 * and JavaScript's `toLowerCase()` both apply Unicode full case mapping with the final-sigma rule;
 * `strip()` uses Python's whitespace set (which has U+001C–U+001F and U+0085 but not U+FEFF).
 *
 * @example
 * ```ts
 * t5.encode(prompts.map(preprocessPixArtPrompt), { maxLength: PIXART_MAX_SEQUENCE_LENGTH })
 * ```
 */
export function preprocessPixArtPrompt(text: string): string {
  return text.toLowerCase().replace(PYTHON_SPACE, "")
}
