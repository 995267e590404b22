/**
 * The one error shape every pagkit package shares (issue 16, item 7). It lives in `@pagkit/tensor` because every
 * package already depends on it; a separate `@pagkit/errors` package would add a dependency edge to each package
 * for one class and buy nothing.
 *
 * Each package declares its family as a subclass with its own literal code union:
 *
 * ```ts
 * export type OnnxErrorCode = "ONNX_MODEL_NOT_FOUND" | "ONNX_PROTO_INVALID" | …
 * export class OnnxError<C extends OnnxErrorCode = OnnxErrorCode> extends PagkitError<C> {
 *   override readonly name: string = "OnnxError"
 * }
 * ```
 *
 * so `error instanceof PagkitError`, `error instanceof OnnxError` and `error.code === "ONNX_PROTO_INVALID"` (type
 * checked) work the same everywhere, and {@link PagkitError.toJSON} gives the plain form that crosses a worker
 * thread (`@pagkit/pipelines` revives it as the same class).
 */

/** An error as plain data: what `structuredClone`/`postMessage` and `JSON.stringify` can carry. */
export interface SerializedError {
  readonly name: string
  readonly message: string
  readonly code?: string
  readonly stack?: string
  readonly cause?: SerializedError
  /** Extra fields of the error (`path`, `pattern`, `expected`, …): strings, numbers, booleans and arrays of them. */
  readonly data?: Readonly<Record<string, unknown>>
}

const BASE_KEYS = new Set(["name", "message", "code", "stack", "cause"])

function isPlainValue(value: unknown, depth = 0): boolean {
  if (value === null || ["string", "number", "boolean"].includes(typeof value)) return true
  if (Array.isArray(value) && depth < 3) return value.every((v) => isPlainValue(v, depth + 1))
  return false
}

/**
 * Base class of every error pagkit throws: a literal `code`, `name` set to the class name, `cause` kept.
 * @example
 * try { await loadSdxl(dir) } catch (error) {
 *   if (error instanceof PagkitError && error.code === "MODEL_FILE_MISSING") console.error(error.message)
 * }
 */
export class PagkitError<C extends string = string> extends Error {
  override readonly name: string = "PagkitError"
  /** What failed, as a literal string a program can switch on; stable across versions. */
  readonly code: C

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
  }

  /** The plain form (see {@link serializeError}). */
  toJSON(): SerializedError {
    return serializeError(this)
  }
}

/**
 * Plain data for any thrown value: name, message, code, stack, the `cause` chain (depth-limited) and an error's
 * own plain fields.
 * @example
 * port.postMessage({ error: serializeError(error) })
 */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error)) return { name: "Error", message: `non-error thrown: ${String(error)}` }
  const code = (error as { code?: unknown }).code
  const cause = (error as { cause?: unknown }).cause
  const data: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(error)) {
    if (!BASE_KEYS.has(key) && isPlainValue(value)) data[key] = value
  }
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === "string" ? { code } : {}),
    ...(error.stack === undefined ? {} : { stack: error.stack }),
    ...(cause === undefined || depth >= 3 ? {} : { cause: serializeError(cause, depth + 1) }),
    ...(Object.keys(data).length === 0 ? {} : { data }),
  }
}

/** A class of the error family, as {@link reviveError} takes them. */
export type ErrorClass = abstract new (...args: never[]) => Error

function plainError(wire: SerializedError, cause: Error | undefined): Error {
  const error = new Error(wire.message, cause === undefined ? undefined : { cause })
  error.name = wire.name
  if (wire.stack !== undefined) error.stack = wire.stack
  return error
}

/**
 * The error a {@link SerializedError} stands for: an instance of the class named `name` among `classes` (so
 * `instanceof` and every field hold as they did where it was thrown, without calling its constructor), its
 * `cause` revived the same way. A name no class has goes to `fallback` (default: a plain `Error` with that name,
 * message and stack).
 * @example
 * const error = reviveError(wire, [ModelFolderError, LayerPatternError])
 */
export function reviveError(
  wire: SerializedError,
  classes: Iterable<ErrorClass>,
  fallback: (wire: SerializedError, cause: Error | undefined) => Error = plainError,
): Error {
  const list = [...classes]
  const cause = wire.cause === undefined ? undefined : reviveError(wire.cause, list, fallback)
  const found = list.find((candidate) => candidate.name === wire.name)
  if (found === undefined) return fallback(wire, cause)
  const error = Object.create(found.prototype as object) as Error
  const fields: Record<string, unknown> = { ...wire.data, name: wire.name, message: wire.message }
  if (wire.code !== undefined) fields["code"] = wire.code
  if (wire.stack !== undefined) fields["stack"] = wire.stack
  if (cause !== undefined) fields["cause"] = cause
  for (const [key, value] of Object.entries(fields)) {
    const hidden = key === "message" || key === "stack" || key === "cause" // as on a constructed Error
    Object.defineProperty(error, key, { value, enumerable: !hidden, writable: !["name", "code"].includes(key), configurable: true })
  }
  return error
}
