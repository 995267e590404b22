// Shared by the guidance-family packages (same file in each package's src/internal/): checks an options
// object's keys against the factory's options, with a did-you-mean for diffusers' snake_case names.
// Candidate for @pagkit/guidance once its serialization contract lands.
import { GuidanceOptionsError } from "@pagkit/guidance"

/** Factory option name → the diffusers guider argument(s) it stands for (for did-you-mean hints). */
export type OptionNames = Readonly<Record<string, readonly string[]>>

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
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = above
    }
  }
  return row[b.length]!
}

/** The option a mistyped or diffusers-named key most likely means, if any. */
export function suggestOption(key: string, names: OptionNames): string | undefined {
  const valid = Object.keys(names)
  for (const option of valid) if ((names[option] ?? []).includes(key)) return option
  const camel = camelCase(key)
  if (valid.includes(camel)) return camel
  const lower = key.toLowerCase()
  const close = valid
    .map((option) => ({ option, distance: editDistance(lower, option.toLowerCase()) }))
    .filter((c) => c.distance <= Math.max(2, Math.floor(c.option.length / 4)))
    .sort((a, b) => a.distance - b.distance)
  return close[0]?.option
}

/**
 * Throws {@link GuidanceOptionsError} for the first key of `options` that is not a valid option,
 * naming it, listing the valid ones and suggesting the camelCase option for a diffusers name.
 * `name` is accepted too (it is what `toJSON()` adds), but must equal `strategy` when present.
 */
export function checkOptionKeys(factory: string, strategy: string, options: object, names: OptionNames): void {
  for (const key of Object.keys(options)) {
    if (key === "name") {
      const value = (options as { name?: unknown }).name
      if (value !== strategy) {
        throw new GuidanceOptionsError(
          `${factory}: options carry name ${JSON.stringify(value)}, expected "${strategy}" (or no name). ` +
            `Pass each strategy's JSON to its own factory.`,
        )
      }
      continue
    }
    if (Object.hasOwn(names, key)) continue
    const suggestion = suggestOption(key, names)
    throw new GuidanceOptionsError(
      `${factory}: unknown option "${key}"${suggestion === undefined ? "" : ` (did you mean "${suggestion}"?)`}; ` +
        `valid options: ${Object.keys(names).join(", ")}.`,
    )
  }
}
