import { CliError } from "./errors.js"

/** Most seeds one command runs (a typo like `0-100000` must not start a day-long run). */
export const MAX_SEEDS = 1000

/**
 * Parses `--seeds`: comma-separated seeds and inclusive ranges, in the order given (`0-3`, `1,5,9`, `0-3,10`).
 * @example
 * parseSeeds("0-2,7") // [0, 1, 2, 7]
 */
export function parseSeeds(text: string, flag = "--seeds"): number[] {
  const seeds: number[] = []
  const whole = (raw: string): number => {
    const value = Number(raw)
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value)) {
      throw new CliError(`${flag} expects whole numbers ≥ 0 and ranges like 0-3, found "${raw}" in "${text}".`)
    }
    return value
  }
  for (const part of text.split(",").map((s) => s.trim())) {
    if (part === "") throw new CliError(`${flag}: empty entry in "${text}"; expected e.g. 0-3 or 1,5,9.`)
    const range = /^(\d+)\s*-\s*(\d+)$/.exec(part)
    if (range !== null) {
      const [first, last] = [whole(range[1]!), whole(range[2]!)]
      if (last < first) throw new CliError(`${flag}: range ${part} runs backwards; write ${last}-${first}.`)
      if (last - first + 1 + seeds.length > MAX_SEEDS) throw new CliError(`${flag}: "${text}" gives more than ${MAX_SEEDS} seeds.`)
      for (let s = first; s <= last; s++) seeds.push(s)
    } else {
      seeds.push(whole(part))
    }
  }
  if (seeds.length > MAX_SEEDS) throw new CliError(`${flag}: "${text}" gives more than ${MAX_SEEDS} seeds.`)
  const seen = new Set<number>()
  for (const seed of seeds) {
    if (seen.has(seed)) throw new CliError(`${flag}: seed ${seed} appears twice in "${text}"; each seed makes one image.`)
    seen.add(seed)
  }
  return seeds
}
