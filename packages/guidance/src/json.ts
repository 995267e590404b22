// A guidance chain as JSON, so it can cross threads, queues and files (`--guidance FILE`).
import type { GuidanceChain } from "./chain.js"
import { guidance } from "./chain.js"
import { GuidanceOptionsError } from "./errors.js"
import type { GuidanceMiddleware, MiddlewareJSON } from "./types.js"

/** A whole chain as JSON: `{ "guidance": [{ "name": "cfg", "scale": 5 }, { "name": "pag", "scale": 3, "layers": ["mid"] }] }`. */
export interface GuidanceJSON {
  readonly guidance: readonly MiddlewareJSON[]
}

/** Makes a middleware from its JSON options (everything but `name`; `as` arrives as the `name` option). */
export type MiddlewareFactory = (options: Readonly<Record<string, unknown>>) => GuidanceMiddleware

/** Middleware factories by catalogue id (`"cfg"`, `"pag"`, …): what {@link guidanceFromJSON} may build. */
export type GuidanceCatalogue = Readonly<Record<string, MiddlewareFactory>>

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
}

function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = above
    }
  }
  return row[b.length]!
}

/** The closest valid name to `name` (snake_case spelled as camelCase first), or undefined when none is close. */
export function didYouMean(name: string, valid: readonly string[]): string | undefined {
  const camel = camelCase(name)
  if (camel !== name && valid.includes(camel)) return camel
  const lower = name.toLowerCase()
  const exactCase = valid.find((v) => v.toLowerCase() === lower || v.toLowerCase() === camel.toLowerCase())
  if (exactCase !== undefined) return exactCase
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1
  for (const candidate of valid) {
    const d = editDistance(camel.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

/**
 * Throws a {@link GuidanceOptionsError} naming every option of `options` not in `valid`, with a did-you-mean
 * (diffusers' snake_case names map to their camelCase spelling). Middleware factories call it first.
 *
 * @example
 * checkOptionNames("cfg()", { scale: 5, guidance_rescale: 0.7 }, ["scale", "rescale", "window", "name"])
 * // GuidanceOptionsError: cfg(): unknown option "guidance_rescale" (did you mean "rescale"?) …
 */
export function checkOptionNames(what: string, options: object, valid: readonly string[]): void {
  const unknown = Object.keys(options).filter((key) => !valid.includes(key) && (options as Record<string, unknown>)[key] !== undefined)
  if (unknown.length === 0) return
  const described = unknown.map((key) => {
    const suggestion = didYouMean(key, valid)
    return suggestion === undefined ? `"${key}"` : `"${key}" (did you mean "${suggestion}"?)`
  })
  throw new GuidanceOptionsError(
    `${what}: unknown option${unknown.length > 1 ? "s" : ""} ${described.join(", ")}. Valid options: ${valid.join(", ")}.`,
  )
}

/**
 * The chain as JSON (each middleware's `toJSON`); fails naming a middleware that cannot be serialized.
 *
 * @example
 * JSON.stringify(chainToJSON(guidance(cfg({ scale: 5 }), pag({ scale: 3, layers: ["mid"] }))))
 */
export function chainToJSON(chain: GuidanceChain): GuidanceJSON {
  return {
    guidance: chain.middlewares.map((middleware) => {
      if (typeof middleware.toJSON !== "function") {
        throw new GuidanceOptionsError(
          `middleware "${middleware.name}" has no toJSON(), so this chain cannot be serialized (e.g. to run in a worker). ` +
            `Give the middleware a toJSON() returning { name: <catalogue id>, ...options } and register its factory in the catalogue.`,
        )
      }
      return middleware.toJSON()
    }),
  }
}

/**
 * Builds a chain from its JSON form with the factories of a catalogue, validating as it goes: the message names the
 * entry (index and id) and what is wrong (unknown id with the ids known, bad options as the factory reports them).
 *
 * @example
 * const chain = guidanceFromJSON({ guidance: [{ name: "cfg", scale: 5 }, { name: "pag", scale: 3, layers: ["mid"] }] }, catalogue)
 */
export function guidanceFromJSON(json: unknown, catalogue: GuidanceCatalogue): GuidanceChain {
  const entries = Array.isArray(json) ? json : isRecord(json) ? json["guidance"] : undefined
  if (!Array.isArray(entries)) {
    throw new GuidanceOptionsError(
      `guidance JSON: expected { "guidance": [ { "name": "cfg", "scale": 5 }, … ] } (or the bare list), found ${JSON.stringify(json)?.slice(0, 200)}.`,
    )
  }
  if (isRecord(json)) checkOptionNames("guidance JSON", json, ["guidance"])
  const middlewares = entries.map((entry: unknown, i) => {
    if (!isRecord(entry) || typeof entry["name"] !== "string") {
      throw new GuidanceOptionsError(`guidance JSON entry ${i}: expected an object with a "name" (one of ${Object.keys(catalogue).join(", ")}), found ${JSON.stringify(entry)}.`)
    }
    const { name, as, ...options } = entry
    const factory = Object.hasOwn(catalogue, name) ? catalogue[name as string] : undefined
    if (factory === undefined) {
      const suggestion = didYouMean(name as string, Object.keys(catalogue))
      throw new GuidanceOptionsError(
        `guidance JSON entry ${i}: unknown strategy "${String(name)}"${suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`}; ` +
          `known: ${Object.keys(catalogue).join(", ")}. Custom strategies must be registered in the catalogue passed in.`,
      )
    }
    if (as !== undefined && typeof as !== "string") {
      throw new GuidanceOptionsError(`guidance JSON entry ${i} ("${String(name)}"): "as" must be a string (the middleware's name in the chain), found ${JSON.stringify(as)}.`)
    }
    try {
      return factory(as === undefined ? options : { ...options, name: as })
    } catch (error) {
      if (error instanceof GuidanceOptionsError) {
        throw new GuidanceOptionsError(`guidance JSON entry ${i} ("${String(name)}"): ${error.message}`, { cause: error })
      }
      throw error
    }
  })
  return guidance(...middlewares)
}
