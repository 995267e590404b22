// Resolving a scheduler_config.json against a class's defaults, like diffusers' `ConfigMixin.from_config`:
// keys the class does not know are ignored, missing keys take the default.
import { InvalidSchedulerConfigError } from "../errors.js"
import type { SchedulerConfig } from "../scheduler.js"

/** A class's defaults: option name (snake_case, as in the json) → default value. */
export type ConfigDefaults = Readonly<Record<string, unknown>>

/** Keys diffusers writes into configs that are not options. */
const BOOKKEEPING_KEYS = new Set(["_class_name", "_diffusers_version", "_use_default_values", "_name_or_path"])

/** Options that must be whole numbers where given. */
const INTEGER_KEYS = new Set([
  "num_train_timesteps",
  "steps_offset",
  "original_inference_steps",
  "solver_order",
  "predictor_order",
  "corrector_order",
  "base_image_seq_len",
  "max_image_seq_len",
])

function describe(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : `${typeof value} ${JSON.stringify(value)}`
}

/**
 * Returns `defaults` overridden by the known keys of `config`. A value whose JSON type differs from its non-null
 * default (a string where a number is expected, …) is rejected; `null` is accepted for every option, as
 * diffusers passes `None` through. Keys listed in `config._use_default_values` are dropped (they were defaults of
 * the class the config came from, as diffusers' `extract_init_dict` does), and the result lists, under
 * `_use_default_values`, the options that took this class's defaults — so `schedulerFromConfig` behaves like
 * `from_config`.
 */
export function resolveConfig<D extends ConfigDefaults>(className: string, defaults: D, config: SchedulerConfig): D {
  const resolved: Record<string, unknown> = { ...defaults }
  const inherited = config["_use_default_values"]
  const dropped = new Set(Array.isArray(inherited) ? inherited.filter((k): k is string => typeof k === "string") : [])
  const given = new Set<string>()
  for (const [key, value] of Object.entries(config)) {
    if (BOOKKEEPING_KEYS.has(key) || !(key in defaults) || dropped.has(key)) continue
    given.add(key)
    const fallback = defaults[key]
    if (value !== null && value !== undefined && fallback !== null && fallback !== undefined) {
      const expected = Array.isArray(fallback) ? "array" : typeof fallback
      const found = Array.isArray(value) ? "array" : typeof value
      if (expected !== found) {
        throw new InvalidSchedulerConfigError(
          `${className}: option ${key} should be a ${expected} (default ${JSON.stringify(fallback)}), found ${describe(value)}. Fix scheduler_config.json.`,
        )
      }
    }
    if (INTEGER_KEYS.has(key) && value !== null && !Number.isInteger(value)) {
      throw new InvalidSchedulerConfigError(
        `${className}: option ${key} should be a whole number, found ${describe(value)}. Fix scheduler_config.json.`,
      )
    }
    resolved[key] = value === undefined ? fallback : value
  }
  if (typeof resolved["num_train_timesteps"] === "number" && resolved["num_train_timesteps"] < 1) {
    throw new InvalidSchedulerConfigError(
      `${className}: num_train_timesteps should be at least 1, found ${String(resolved["num_train_timesteps"])}.`,
    )
  }
  // enumerable, so spreading a scheduler's config carries it into the next one
  resolved["_use_default_values"] = Object.keys(defaults).filter((key) => !given.has(key))
  return resolved as D
}

/** Throws unless `value` is one of `allowed` (the message lists them). */
export function checkOneOf<T extends string>(
  className: string,
  key: string,
  value: unknown,
  allowed: readonly T[],
): asserts value is T {
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidSchedulerConfigError(
      `${className}: ${key} must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, found ${describe(value)}. Fix scheduler_config.json.`,
    )
  }
}

/** Throws when more than one of `use_karras_sigmas`, `use_exponential_sigmas`, `use_beta_sigmas` is set. */
export function checkSingleSigmaConversion(className: string, config: Readonly<Record<string, unknown>>): void {
  const set = ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"].filter((k) => config[k] === true)
  if (set.length > 1) {
    throw new InvalidSchedulerConfigError(
      `${className}: only one of use_karras_sigmas, use_exponential_sigmas, use_beta_sigmas can be true, found ${set.join(" and ")}. Keep one.`,
    )
  }
}
