// Option-name checks for strategy factories: like checkOptionNames, plus diffusers' argument names as aliases for the did-you-mean (`guidance_scale` → `scale`,
// `start`/`stop` → `window`), which an edit distance cannot find.
import { GuidanceOptionsError } from "./errors.js"
import { didYouMean } from "./json.js"

/** Factory option name → the diffusers guider argument(s) it stands for (for did-you-mean hints). */
export type OptionNames = Readonly<Record<string, readonly string[]>>

/** The option a mistyped or diffusers-named key most likely means, if any. */
export function suggestOption(key: string, names: OptionNames): string | undefined {
  const valid = Object.keys(names)
  for (const option of valid) if ((names[option] ?? []).includes(key)) return option
  return didYouMean(key, valid)
}

/**
 * Throws {@link GuidanceOptionsError} naming every key of `options` that is not a valid option (keys set to
 * `undefined` are ignored), with a did-you-mean, and listing the valid ones — the message format of
 * `checkOptionNames`. `name` is accepted when it equals `strategy` (what `toJSON()` adds).
 */
export function checkOptionKeys(factory: string, strategy: string, options: object, names: OptionNames): void {
  const record = options as Record<string, unknown>
  if (record["name"] !== undefined && record["name"] !== strategy) {
    throw new GuidanceOptionsError(
      `${factory}: options carry name ${JSON.stringify(record["name"])}, expected "${strategy}" (or no name). ` +
        `Pass each strategy's JSON to its own factory.`,
    )
  }
  const unknown = Object.keys(options).filter((key) => key !== "name" && !Object.hasOwn(names, key) && record[key] !== undefined)
  if (unknown.length === 0) return
  const described = unknown.map((key) => {
    const suggestion = suggestOption(key, names)
    return suggestion === undefined ? `"${key}"` : `"${key}" (did you mean "${suggestion}"?)`
  })
  throw new GuidanceOptionsError(
    `${factory}: unknown option${unknown.length > 1 ? "s" : ""} ${described.join(", ")}. Valid options: ${Object.keys(names).join(", ")}.`,
  )
}
