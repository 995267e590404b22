import type { Tensor } from "@pagkit/tensor"
import { isInWindow, validateScale, validateWindow } from "@pagkit/guidance"
import type { BranchSpec, GuidanceMiddleware, GuidanceWindow, MiddlewareJSON, Predictions, StepContext } from "@pagkit/guidance"
import { rescaleNoiseCfg } from "@pagkit/guidance-cfg"
import { checkOptionsObject, condUncond, foldGuided, isNeutralScale, validateBoolean, validateFinite } from "@pagkit/guidance"
import { checkOptionKeys } from "@pagkit/guidance"
import type { OptionNames } from "@pagkit/guidance"
import { tangentialGuidance } from "./tangential-guidance.js"

/** Options of {@link tcfg}; every one has diffusers' `TangentialClassifierFreeGuidance` default. */
export interface TcfgOptions {
  /** guidance_scale `g` (default 7.5). */
  readonly scale?: number
  /** guidance_rescale (default 0), applied against `c` on steps where TCFG guides. */
  readonly rescale?: number
  /** use_original_formulation (default false): `c + g(c − u')`. */
  readonly useOriginalFormulation?: boolean
  /** start/stop as `[start, end]` fractions of the run (default `[0, 1]`). */
  readonly window?: GuidanceWindow
  /** enabled (default true). */
  readonly enabled?: boolean
}

/** Options of a TCFG middleware after validation: what `toJSON()` returns, minus `name`. */
export interface ResolvedTcfgOptions {
  readonly scale: number
  readonly rescale: number
  readonly useOriginalFormulation: boolean
  readonly window: GuidanceWindow
  readonly enabled: boolean
}

/** The JSON form of a TCFG middleware. */
export type TcfgJson = MiddlewareJSON & { readonly name: "tcfg" } & ResolvedTcfgOptions

/** The Tangential CFG middleware made by {@link tcfg}. */
export interface TcfgMiddleware extends GuidanceMiddleware {
  readonly name: "tcfg"
  readonly options: ResolvedTcfgOptions
  /** True when the step computes `u` and guides. */
  isActive(ctx: StepContext): boolean
  /** A new middleware with some options changed (validated again). */
  with(patch: Partial<TcfgOptions>): TcfgMiddleware
  /** Plain JSON: `tcfg(json)` (with or without `name`) rebuilds an equal middleware. */
  toJSON(): TcfgJson
}

const optionNames: OptionNames = {
  scale: ["guidance_scale", "guidanceScale"],
  rescale: ["guidance_rescale", "guidanceRescale"],
  useOriginalFormulation: ["use_original_formulation"],
  window: ["start", "stop"],
  enabled: [],
}

const uncond: BranchSpec = Object.freeze({ name: "uncond", conditioning: "uncond" })
const cond: BranchSpec = Object.freeze({ name: "cond", conditioning: "cond" })

function resolve(options: TcfgOptions): ResolvedTcfgOptions {
  checkOptionsObject(options, "tcfg()", "{ scale: 7.5 }")
  checkOptionKeys("tcfg()", "tcfg", options, optionNames)
  return Object.freeze({
    scale: validateFinite(options.scale, "tcfg() scale", 7.5),
    rescale: validateScale(options.rescale, "tcfg() rescale", 0),
    useOriginalFormulation: validateBoolean(options.useOriginalFormulation, "tcfg() useOriginalFormulation", false),
    window: validateWindow(options.window, "tcfg() window"),
    enabled: validateBoolean(options.enabled, "tcfg() enabled", true),
  })
}

/**
 * Tangential Classifier-Free Guidance (Kwon et al. 2025, https://arxiv.org/abs/2503.18137): CFG with
 * the unconditional prediction replaced, per sample, by its projection onto the first right-singular
 * vector of `[c; u]` (its tangential component removed): `u' + g(c − u')`. Asks for `[uncond, cond]`
 * rows where it guides; off (no `uncond` row) outside the window, disabled, or for a neutral scale.
 *
 * Ported from diffusers `guiders/tangential_classifier_free_guidance.py` (`forward`, `_is_tcfg_enabled`,
 * `normalized_guidance`).
 *
 * @example
 * const chain = guidance(tcfg({ scale: 7.5 }), pag({ scale: 3, layers: ["mid"] }))
 */
export function tcfg(options: TcfgOptions = {}): TcfgMiddleware {
  const resolved = resolve(options)
  const { scale, rescale, useOriginalFormulation, window, enabled } = resolved
  const isActive = (ctx: StepContext): boolean => enabled && isInWindow(window, ctx) && !isNeutralScale(scale, useOriginalFormulation)

  return Object.freeze({
    name: "tcfg" as const,
    options: resolved,
    isActive,
    with: (patch: Partial<TcfgOptions>): TcfgMiddleware => tcfg({ ...resolved, ...patch }),
    toJSON: (): TcfgJson => ({ name: "tcfg", ...resolved, window: [resolved.window[0], resolved.window[1]] }),

    branches(ctx: StepContext): readonly BranchSpec[] {
      return isActive(ctx) ? [uncond, cond] : []
    },

    combine(prev: Tensor | undefined, preds: Predictions, ctx: StepContext): Tensor | undefined {
      if (!isActive(ctx)) return prev
      const [noisePredText, noisePredUncond] = condUncond(preds, "tcfg")
      return foldGuided(prev, tangentialGuidance(noisePredText, noisePredUncond, scale, useOriginalFormulation), noisePredText)
    },

    finish(guided: Tensor, preds: Predictions, ctx: StepContext): Tensor {
      if (rescale <= 0 || !isActive(ctx)) return guided
      return rescaleNoiseCfg(guided, preds.get("cond"), rescale)
    },
  })
}
