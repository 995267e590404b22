/** Small typed accessors for untrusted JSON, throwing `TokenizerMalformedFileError` with the field path. */
import { TokenizerError, TokenizerMalformedFileError } from "../errors.js"

/** Which file a value came from, for error messages. */
export class JsonContext {
  constructor(readonly file: string) {}

  /** Throw a malformed-file error about `where`. */
  fail(where: string, problem: string, cause?: unknown): never {
    throw new TokenizerMalformedFileError(this.file, `${where}: ${problem}`, cause === undefined ? undefined : { cause })
  }

  /** Run `fn`, turning a plain exception into a malformed-file error about `where`. */
  wrap<T>(where: string, fn: () => T): T {
    try {
      return fn()
    } catch (error) {
      if (error instanceof TokenizerError) throw error
      return this.fail(where, error instanceof Error ? error.message : String(error), error)
    }
  }
}

/** Parse JSON text. */
export function parseJson(text: string, ctx: JsonContext): unknown {
  return ctx.wrap("JSON", () => JSON.parse(text) as unknown)
}

/** `value` as a JSON object, or a malformed-file error naming `where`. */
export function asRecord(value: unknown, ctx: JsonContext, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return ctx.fail(where, `expected an object, found ${describe(value)}`)
  }
  return value as Record<string, unknown>
}

/** `value` as a JSON array. */
export function asArray(value: unknown, ctx: JsonContext, where: string): unknown[] {
  if (!Array.isArray(value)) return ctx.fail(where, `expected an array, found ${describe(value)}`)
  return value
}

/** `value` as a string. */
export function asString(value: unknown, ctx: JsonContext, where: string): string {
  if (typeof value !== "string") return ctx.fail(where, `expected a string, found ${describe(value)}`)
  return value
}

/** `value` as a finite number. */
export function asNumber(value: unknown, ctx: JsonContext, where: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    return ctx.fail(where, `expected a number, found ${describe(value)}`)
  }
  return value
}

/** `value` as a non-negative integer (token ids). */
export function asInteger(value: unknown, ctx: JsonContext, where: string): number {
  const n = asNumber(value, ctx, where)
  if (!Number.isInteger(n) || n < 0) return ctx.fail(where, `expected a non-negative integer, found ${n}`)
  return n
}

/** Decode standard base64 (as serde writes `precompiled_charsmap`). */
export function decodeBase64(text: string, ctx: JsonContext, where: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) ctx.fail(where, "invalid base64")
  return new Uint8Array(Buffer.from(text, "base64"))
}

/** A token given either as a string or as `{ "content": … }` (tokenizer_config.json / special_tokens_map.json). */
export function tokenContent(value: unknown): string | undefined {
  if (typeof value === "string") return value
  if (typeof value === "object" && value !== null && typeof (value as { content?: unknown }).content === "string") {
    return (value as { content: string }).content
  }
  return undefined
}

function describe(value: unknown): string {
  if (value === null) return "null"
  if (Array.isArray(value)) return "an array"
  if (value === undefined) return "nothing"
  return typeof value === "string" ? `the string ${JSON.stringify(value.slice(0, 40))}` : `a ${typeof value}`
}
