/** Codes of every {@link HubError}. */
export type HubErrorCode =
  | "HUB_INVALID_ID"
  | "HUB_DIR_NOT_FOUND"
  | "HUB_REPO_NOT_FOUND"
  | "HUB_REVISION_NOT_FOUND"
  | "HUB_FILE_NOT_FOUND"
  | "HUB_UNAUTHORIZED"
  | "HUB_INVALID_TOKEN"
  | "HUB_REQUEST_FAILED"
  | "HUB_OFFLINE_NOT_CACHED"
  | "HUB_NOTHING_SELECTED"
  | "HUB_SIZE_MISMATCH"
  | "HUB_CHECKSUM_MISMATCH"
  | "HUB_SYMLINKED_EXTERNAL_DATA"

/**
 * Base class of every error thrown by `@pagkit/hub`. `code` says which failure it is; the message says what was
 * expected, what was found and what to do. The underlying error (an HTTP error of `@huggingface/hub`, a file-system
 * error) is kept as `cause`.
 */
export class HubError extends Error {
  override readonly name: string = "HubError"
  readonly code: HubErrorCode
  constructor(code: HubErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** A downloaded file does not match the size or hash the hub announced (a corrupt transfer or blob). */
export class HubIntegrityError extends HubError {
  override readonly name = "HubIntegrityError"
  /** Path of the file inside the repository. */
  readonly file: string
  constructor(code: "HUB_SIZE_MISMATCH" | "HUB_CHECKSUM_MISMATCH", file: string, message: string) {
    super(code, message)
    this.file = file
  }
}

/**
 * A model folder reaches an ONNX file's external data through a symbolic link that leaves the model's folder,
 * which onnxruntime 1.30 refuses ("External data path escapes model directory").
 */
export class SymlinkedExternalDataError extends HubError {
  override readonly name = "SymlinkedExternalDataError"
  override readonly code = "HUB_SYMLINKED_EXTERNAL_DATA"
  /** The offending links: link path and the real path it points to. */
  readonly links: readonly { readonly link: string; readonly target: string }[]
  constructor(links: readonly { readonly link: string; readonly target: string }[]) {
    const list = links.map((l) => `  ${l.link} -> ${l.target}`).join("\n")
    super(
      "HUB_SYMLINKED_EXTERNAL_DATA",
      `ONNX external data is reached through a symbolic link that leaves the model's folder:\n${list}\n` +
        'onnxruntime 1.30 refuses such files ("External data path escapes model directory"). ' +
        'Replace each link by the real file (e.g. `cp --remove-destination "$(readlink -f LINK)" LINK`, or a hard link ' +
        "with `ln -f`), or load the model by its hub id so @pagkit/hub lays the cache out with hard links.",
    )
    this.links = links
  }
}
