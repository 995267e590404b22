/**
 * @pagkit/tokenizers: CLIP BPE and T5 unigram tokenizers with diffusers' padding rules.
 * @module
 */
export {
  TokenizerError,
  TokenizerFolderNotFoundError,
  TokenizerFileMissingError,
  TokenizerMalformedFileError,
  UnsupportedTokenizerError,
  TokenizerInputError,
} from "./errors.js"
export type { TokenizerErrorCode } from "./errors.js"
export { Tokenizer } from "./tokenizer.js"
export type {
  BatchEncoding,
  EncodeOptions,
  PaddingMode,
  SpecialTokens,
  TokenizerKind,
  TokenizerSetup,
} from "./tokenizer.js"
export { loadTokenizer, detectTokenizerKind } from "./load-tokenizer.js"
export type { LoadTokenizerOptions } from "./load-tokenizer.js"
export { loadClipTokenizer } from "./clip.js"
export { loadT5Tokenizer, PIXART_MAX_SEQUENCE_LENGTH } from "./t5.js"
export { preprocessPixArtPrompt } from "./text-preprocessing.js"
