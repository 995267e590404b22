import { PagkitError } from "@pagkit/tensor"

/** Every failure code a tokenizer can raise. */
export type TokenizerErrorCode =
  | "TOKENIZER_FOLDER_NOT_FOUND"
  | "TOKENIZER_FILE_MISSING"
  | "TOKENIZER_MALFORMED_FILE"
  | "TOKENIZER_UNSUPPORTED"
  | "TOKENIZER_INVALID_INPUT"

/** Base class of every error thrown by `@pagkit/tokenizers`; `code` tells the failures apart. */
export class TokenizerError<C extends TokenizerErrorCode = TokenizerErrorCode> extends PagkitError<C> {
  override readonly name: string = "TokenizerError"
}

const FOLDER_CONTENTS =
  "A CLIP tokenizer folder holds tokenizer.json, or vocab.json + merges.txt; a T5 tokenizer folder holds " +
  "tokenizer.json or spiece.model (tokenizer_config.json and special_tokens_map.json are optional in both)."

/** The tokenizer folder does not exist or is not a directory. */
export class TokenizerFolderNotFoundError extends TokenizerError {
  override readonly name = "TokenizerFolderNotFoundError"
  readonly folder: string

  constructor(folder: string, options?: { cause?: unknown }) {
    super(
      "TOKENIZER_FOLDER_NOT_FOUND",
      `Expected a tokenizer folder at "${folder}", found nothing there. Pass the model's tokenizer folder ` +
        `(e.g. "<model>/tokenizer" or "<model>/tokenizer_2"). ${FOLDER_CONTENTS}`,
      options,
    )
    this.folder = folder
  }
}

/** A file the tokenizer needs is missing from its folder. */
export class TokenizerFileMissingError extends TokenizerError {
  override readonly name = "TokenizerFileMissingError"
  readonly folder: string
  readonly files: readonly string[]

  constructor(folder: string, files: readonly string[], detail?: string) {
    super(
      "TOKENIZER_FILE_MISSING",
      `Expected ${files.join(" or ")} in tokenizer folder "${folder}", found none. ` +
        `${detail === undefined ? "" : `${detail} `}${FOLDER_CONTENTS}`,
    )
    this.folder = folder
    this.files = files
  }
}

/** A tokenizer file exists but cannot be parsed (bad JSON, bad protobuf, missing fields). */
export class TokenizerMalformedFileError extends TokenizerError {
  override readonly name = "TokenizerMalformedFileError"
  readonly file: string

  constructor(file: string, problem: string, options?: { cause?: unknown }) {
    super(
      "TOKENIZER_MALFORMED_FILE",
      `Could not read tokenizer file "${file}": ${problem}. Re-export the tokenizer (transformers' ` +
        "save_pretrained writes valid files) or remove the broken file so the other format is used.",
      options,
    )
    this.file = file
  }
}

/** The file describes a tokenizer component this package does not implement. */
export class UnsupportedTokenizerError extends TokenizerError {
  override readonly name = "UnsupportedTokenizerError"

  constructor(what: string, found: string, supported: readonly string[]) {
    super(
      "TOKENIZER_UNSUPPORTED",
      `Unsupported ${what}: found ${found}, expected one of ${supported.join(", ")}. ` +
        "pagkit implements the CLIP (byte-level BPE) and T5 (sentencepiece unigram) tokenizers.",
    )
  }
}

/** A caller passed an invalid prompt or option. */
export class TokenizerInputError extends TokenizerError {
  override readonly name = "TokenizerInputError"

  constructor(message: string) {
    super("TOKENIZER_INVALID_INPUT", message)
  }
}
