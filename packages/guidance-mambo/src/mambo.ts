import type { Tensor } from "@pagkit/tensor"
import { isInWindow, validateScale, validateWindow } from "@pagkit/guidance"
import type { BranchSpec, GuidanceMiddleware, GuidanceWindow, MiddlewareJSON, Predictions, StepContext } from "@pagkit/guidance"
import { rescaleNoiseCfg } from "@pagkit/guidance-cfg"
import { checkOptionsObject, condUncond, foldGuided, isNeutralScale, validateBoolean, validateFinite } from "@pagkit/guidance"
import { checkOptionKeys } from "@pagkit/guidance"
import type { OptionNames } from "@pagkit/guidance"
import { mamboGuidance } from "./mambo-guidance.js"

/** Options of {@link mambo}; every one has diffusers' `MagnitudeAwareGuidance` default. */
export interface MamboOptions {
  /** guidance_scale `g` (default 10). */
  readonly scale?: number
  /** alpha `α` (default 8): larger values cut the scale harder when the update is large relative to `u`. */
  readonly alpha?: number
  /** guidance_rescale (default 0), applied against `c` on steps where MAMBO-G guides. */
  readonly rescale?: number
  /** use_original_formulation (default false): `c + g·e^{−α·r}(c − u)`. */
  readonly useOriginalFormulation?: boolean
  /** start/stop as `[start, end]` fractions of the run (default `[0, 1]`). */
  readonly window?: GuidanceWindow
  /** enabled (default true). */
  readonly enabled?: boolean
}

/** Options of a MAMBO-G middleware after validation: what `toJSON()` returns, minus `name`. */
export interface ResolvedMamboOptions {
  readonly scale: number
  readonly alpha: number
  readonly rescale: number
  readonly useOriginalFormulation: boolean
  readonly window: GuidanceWindow
  readonly enabled: boolean
}

/** The JSON form of a MAMBO-G middleware. */
export type MamboJson = MiddlewareJSON & { readonly name: "mambo" } & ResolvedMamboOptions

/** The MAMBO-G middleware made by {@link mambo}. */
export interface MamboMiddleware extends GuidanceMiddleware {
  readonly name: "mambo"
  readonly options: ResolvedMamboOptions
  /** True when the step computes `u` and guides. */
  isActive(ctx: StepContext): boolean
  /** A new middleware with some options changed (validated again). */
  with(patch: Partial<MamboOptions>): MamboMiddleware
  /** Plain JSON: `mambo(json)` (with or without `name`) rebuilds an equal middleware. */
  toJSON(): MamboJson
}

const optionNames: OptionNames = {
  scale: ["guidance_scale", "guidanceScale"],
  alpha: [],
  rescale: ["guidance_rescale", "guidanceRescale"],
  useOriginalFormulation: ["use_original_formulation"],
  window: ["start", "stop"],
  enabled: [],
}

const uncond: BranchSpec = Object.freeze({ name: "uncond", conditioning: "uncond" })
const cond: BranchSpec = Object.freeze({ name: "cond", conditioning: "cond" })

function resolve(options: MamboOptions): ResolvedMamboOptions {
  checkOptionsObject(options, "mambo()", "{ scale: 10, alpha: 8 }")
  checkOptionKeys("mambo()", "mambo", options, optionNames)
  return Object.freeze({
    scale: validateFinite(options.scale, "mambo() scale", 10),
    alpha: validateFinite(options.alpha, "mambo() alpha", 8),
    rescale: validateScale(options.rescale, "mambo() rescale", 0),
    useOriginalFormulation: validateBoolean(options.useOriginalFormulation, "mambo() useOriginalFormulation", false),
    window: validateWindow(options.window, "mambo() window"),
    enabled: validateBoolean(options.enabled, "mambo() enabled", true),
  })
}

/**
 * MAMBO-G, Magnitude-Aware Mitigation for Boosted Guidance (https://arxiv.org/abs/2508.03442): CFG
 * whose scale shrinks per sample as the update grows relative to the unconditional prediction,
 * `g_t = 1 + (g − 1)·exp(−α‖c − u‖/‖u‖)`, `u + g_t(c − u)`. Asks for `[uncond, cond]` rows where it
 * guides; off (no `uncond` row) outside the window, disabled, or for a neutral scale.
 *
 * Ported from diffusers `guiders/magnitude_aware_guidance.py` (`forward`, `_is_mambo_g_enabled`,
 * `mambo_guidance`).
 *
 * @example
 * const chain = guidance(mambo({ scale: 10, alpha: 8 }))
 */
export function mambo(options: MamboOptions = {}): MamboMiddleware {
  const resolved = resolve(options)
  const { scale, alpha, rescale, useOriginalFormulation, window, enabled } = resolved
  const isActive = (ctx: StepContext): boolean => enabled && isInWindow(window, ctx) && !isNeutralScale(scale, useOriginalFormulation)

  return Object.freeze({
    name: "mambo" as const,
    options: resolved,
    isActive,
    with: (patch: Partial<MamboOptions>): MamboMiddleware => mambo({ ...resolved, ...patch }),
    toJSON: (): MamboJson => ({ name: "mambo", ...resolved, window: [resolved.window[0], resolved.window[1]] }),

    branches(ctx: StepContext): readonly BranchSpec[] {
      return isActive(ctx) ? [uncond, cond] : []
    },

    combine(prev: Tensor | undefined, preds: Predictions, ctx: StepContext): Tensor | undefined {
      if (!isActive(ctx)) return prev
      const [noisePredText, noisePredUncond] = condUncond(preds, "mambo")
      return foldGuided(prev, mamboGuidance(noisePredText, noisePredUncond, { scale, alpha, useOriginalFormulation }).guided, noisePredText)
    },

    finish(guided: Tensor, preds: Predictions, ctx: StepContext): Tensor {
      if (rescale <= 0 || !isActive(ctx)) return guided
      return rescaleNoiseCfg(guided, preds.get("cond"), rescale)
    },
  })
}
