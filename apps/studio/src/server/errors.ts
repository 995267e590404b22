/**
 * The studio's errors: a literal `code` (sent to clients as `{ error: { code, message } }`) and an HTTP status.
 * @example
 * throw new StudioError("JOB_NOT_FOUND", `no job "${id}"…`, { status: 404 })
 */
export class StudioError extends Error {
  override readonly name = "StudioError"
  readonly code: string
  readonly status: 400 | 404 | 409 | 500 | 503

  constructor(code: string, message: string, options: { status?: StudioError["status"]; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.status = options.status ?? 500
  }
}

/** `{ code, message }` of any error: coded errors keep their code, others become `INTERNAL`. */
export function errorBody(error: unknown): { code: string; message: string } {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return { code: typeof code === "string" ? code : "INTERNAL", message: error.message }
  }
  return { code: "INTERNAL", message: String(error) }
}
