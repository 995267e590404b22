import type { Tensor } from "@pagkit/tensor"
import { GuidanceOptionsError, isInWindow, validateScale, validateWindow } from "@pagkit/guidance"
import type { BranchSpec, GuidanceMiddleware, GuidanceWindow, MiddlewareJSON, Predictions, StepContext } from "@pagkit/guidance"
import { rescaleNoiseCfg } from "@pagkit/guidance-cfg"
import { frequencyDecoupledGuidance } from "./frequency-decoupled.js"
import { checkOptionsObject, condUncond, foldGuided, isNeutralScale, validateBoolean, validateFinite } from "@pagkit/guidance"
import { checkOptionKeys } from "@pagkit/guidance"
import type { OptionNames } from "@pagkit/guidance"

/** Options of {@link fdg}; every one has diffusers' `FrequencyDecoupledGuidance` default. */
export interface FdgOptions {
  /** guidance_scales, one per pyramid level, highest frequency first (default `[10, 5]`; the level count). */
  readonly scales?: readonly number[]
  /** guidance_rescale: one value or one per level (default 0). In `"data"` space only the first is used. */
  readonly rescale?: number | readonly number[]
  /** parallel_weights: one value or one per level (default `null` = 1 for every level, the plain CFG shift). */
  readonly parallelWeights?: number | readonly number[] | null
  /** use_original_formulation (default false): `c_l + g_l·shift_l` per level. */
  readonly useOriginalFormulation?: boolean
  /** start/stop: one `[start, end]` for every level, or one per level (default `[0, 1]`). */
  readonly window?: GuidanceWindow | readonly GuidanceWindow[]
  /** guidance_rescale_space (default `"data"`): rescale the rebuilt image, or each level (`"freq"`). */
  readonly rescaleSpace?: "data" | "freq"
  /** upcast_to_double (default true): the parallel/orthogonal projection in float64. */
  readonly upcastToDouble?: boolean
  /** enabled (default true). */
  readonly enabled?: boolean
}

/** Options of an FDG middleware after validation (lists per level): what `toJSON()` returns, minus `name`. */
export interface ResolvedFdgOptions {
  readonly scales: readonly number[]
  readonly rescale: readonly number[]
  readonly parallelWeights: readonly number[]
  readonly useOriginalFormulation: boolean
  readonly window: readonly GuidanceWindow[]
  readonly rescaleSpace: "data" | "freq"
  readonly upcastToDouble: boolean
  readonly enabled: boolean
}

/** The JSON form of an FDG middleware. */
export type FdgJson = MiddlewareJSON & { readonly name: "fdg" } & ResolvedFdgOptions

/** The Frequency-Decoupled Guidance middleware made by {@link fdg}. */
export interface FdgMiddleware extends GuidanceMiddleware {
  readonly name: "fdg"
  readonly options: ResolvedFdgOptions
  /** Which levels guide at this step (inside their window, scale not neutral, enabled). */
  activeLevels(ctx: StepContext): boolean[]
  /** True when at least one level guides at this step (then `u` is computed). */
  isActive(ctx: StepContext): boolean
  /** A new middleware with some options changed (validated again). */
  with(patch: Partial<FdgOptions>): FdgMiddleware
  /** Plain JSON: `fdg(json)` (with or without `name`) rebuilds an equal middleware. */
  toJSON(): FdgJson
}

const optionNames: OptionNames = {
  scales: ["guidance_scales", "guidance_scale", "scale"],
  rescale: ["guidance_rescale", "guidanceRescale"],
  parallelWeights: ["parallel_weights"],
  useOriginalFormulation: ["use_original_formulation"],
  window: ["start", "stop"],
  rescaleSpace: ["guidance_rescale_space"],
  upcastToDouble: ["upcast_to_double"],
  enabled: [],
}

const uncond: BranchSpec = Object.freeze({ name: "uncond", conditioning: "uncond" })
const cond: BranchSpec = Object.freeze({ name: "cond", conditioning: "cond" })

/** One value for every level, or exactly one per level. */
function perLevel<T>(value: T | readonly T[] | undefined, levels: number, fallback: T, what: string, check: (v: T, w: string) => T): readonly T[] {
  if (value === undefined) return Object.freeze(Array.from({ length: levels }, () => fallback))
  if (!Array.isArray(value)) return Object.freeze(Array.from({ length: levels }, () => check(value as T, what)))
  if (value.length !== levels) {
    throw new GuidanceOptionsError(
      `fdg() ${what}: has ${value.length} values but scales has ${levels} levels; give one value, or one per level.`,
    )
  }
  return Object.freeze(value.map((v, i) => check(v as T, `${what}[${i}]`)))
}

function resolveWindows(window: FdgOptions["window"], levels: number): readonly GuidanceWindow[] {
  if (window === undefined) return perLevel<GuidanceWindow>(undefined, levels, validateWindow(undefined, "fdg() window"), "window", (v) => v)
  const isList = Array.isArray(window) && window.length > 0 && Array.isArray(window[0])
  if (!isList) {
    const pair = validateWindow(window as GuidanceWindow, "fdg() window")
    return Object.freeze(Array.from({ length: levels }, () => pair))
  }
  return perLevel(window as readonly GuidanceWindow[], levels, validateWindow(undefined, "fdg() window"), "window", (v, w) => validateWindow(v, `fdg() ${w}`))
}

function resolve(options: FdgOptions): ResolvedFdgOptions {
  checkOptionsObject(options, "fdg()", "{ scales: [10, 5] }")
  checkOptionKeys("fdg()", "fdg", options, optionNames)
  const rawScales = options.scales ?? [10, 5]
  if (!Array.isArray(rawScales) || rawScales.length === 0) {
    throw new GuidanceOptionsError(
      `fdg() scales: expected a non-empty list of guidance scales, one per pyramid level, highest frequency first (e.g. [10, 5]), ` +
        `found ${JSON.stringify(rawScales)}.`,
    )
  }
  const scales = Object.freeze(rawScales.map((s, i) => validateFinite(s, `fdg() scales[${i}]`, 0)))
  const levels = scales.length
  const rescaleSpace = options.rescaleSpace ?? "data"
  if (rescaleSpace !== "data" && rescaleSpace !== "freq") {
    throw new GuidanceOptionsError(`fdg() rescaleSpace: expected "data" or "freq", found ${JSON.stringify(rescaleSpace)}.`)
  }
  const parallel = options.parallelWeights === null ? undefined : options.parallelWeights
  return Object.freeze({
    scales,
    rescale: perLevel(options.rescale, levels, 0, "rescale", (v, w) => validateScale(v, `fdg() ${w}`, 0)),
    parallelWeights: perLevel(parallel, levels, 1, "parallelWeights", (v, w) => validateFinite(v, `fdg() ${w}`, 1)),
    useOriginalFormulation: validateBoolean(options.useOriginalFormulation, "fdg() useOriginalFormulation", false),
    window: resolveWindows(options.window, levels),
    rescaleSpace,
    upcastToDouble: validateBoolean(options.upcastToDouble, "fdg() upcastToDouble", true),
    enabled: validateBoolean(options.enabled, "fdg() enabled", true),
  })
}

/**
 * Frequency-Decoupled Guidance (Sadat et al. 2025, https://arxiv.org/abs/2506.19713): CFG done per
 * level of a Laplacian pyramid of `c` and `u` (kornia's 5×5 binomial kernel, reflect borders), each
 * level with its own scale, parallel weight and window, then the image rebuilt from the guided
 * pyramid. Asks for `[uncond, cond]` rows on steps where at least one level guides; off (no `uncond`
 * row) when no level does. Predictions must be `[batch, channels, height, width]`.
 *
 * guidance_rescale in `"data"` space runs in `finish` against `c` (first value), like `cfg`; in `"freq"`
 * space it runs on each level inside `combine`.
 *
 * Ported from diffusers `guiders/frequency_decoupled_guidance.py` (`forward`, `_is_fdg_enabled`,
 * `_is_fdg_enabled_for_level`, `project`, `build_image_from_pyramid`).
 *
 * @example
 * const chain = guidance(fdg({ scales: [10, 5], parallelWeights: [1, 0.5] }))
 */
export function fdg(options: FdgOptions = {}): FdgMiddleware {
  const resolved = resolve(options)
  const { scales, rescale, useOriginalFormulation, window, rescaleSpace, enabled } = resolved
  const activeLevels = (ctx: StepContext): boolean[] =>
    scales.map((scale, level) => enabled && isInWindow(window[level]!, ctx) && !isNeutralScale(scale, useOriginalFormulation))
  const isActive = (ctx: StepContext): boolean => activeLevels(ctx).some(Boolean)

  return Object.freeze({
    name: "fdg" as const,
    options: resolved,
    activeLevels,
    isActive,
    with: (patch: Partial<FdgOptions>): FdgMiddleware => fdg({ ...resolved, ...patch }),
    toJSON: (): FdgJson => ({
      name: "fdg",
      ...resolved,
      scales: [...scales],
      rescale: [...rescale],
      parallelWeights: [...resolved.parallelWeights],
      window: window.map((w) => [w[0], w[1]] as const),
    }),

    branches(ctx: StepContext): readonly BranchSpec[] {
      return isActive(ctx) ? [uncond, cond] : []
    },

    combine(prev: Tensor | undefined, preds: Predictions, ctx: StepContext): Tensor | undefined {
      const levels = activeLevels(ctx)
      if (!levels.some(Boolean)) return prev
      const [noisePredText, noisePredUncond] = condUncond(preds, "fdg")
      const guided = frequencyDecoupledGuidance(noisePredText, noisePredUncond, { ...resolved, activeLevels: levels })
      return foldGuided(prev, guided, noisePredText)
    },

    finish(guided: Tensor, preds: Predictions, ctx: StepContext): Tensor {
      if (rescaleSpace !== "data" || !(rescale[0]! > 0) || !isActive(ctx)) return guided
      return rescaleNoiseCfg(guided, preds.get("cond"), rescale[0]!)
    },
  })
}
