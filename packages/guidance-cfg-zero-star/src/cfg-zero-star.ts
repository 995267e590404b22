import { Tensor } from "@pagkit/tensor"
import { GuidanceOptionsError, isInWindow, validateScale, validateWindow } from "@pagkit/guidance"
import type { BranchSpec, GuidanceMiddleware, GuidanceWindow, MiddlewareJSON, Predictions, StepContext } from "@pagkit/guidance"
import { rescaleNoiseCfg } from "@pagkit/guidance-cfg"
import { checkOptionsObject, condUncond, foldGuided, isNeutralScale, validateBoolean, validateFinite } from "@pagkit/guidance"
import { checkOptionKeys } from "@pagkit/guidance"
import type { OptionNames } from "@pagkit/guidance"
import { cfgZeroStarGuidance } from "./optimized-scale.js"

/** Options of {@link cfgZeroStar}; every one has diffusers' `ClassifierFreeZeroStarGuidance` default. */
export interface CfgZeroStarOptions {
  /** guidance_scale `g` (default 7.5). */
  readonly scale?: number
  /** zero_init_steps (default 1): steps `i < zeroInitSteps` output an all-zero prediction (paper §4.2). */
  readonly zeroInitSteps?: number
  /** guidance_rescale (default 0), applied against `c` on steps where CFG-Zero* guides. */
  readonly rescale?: number
  /** use_original_formulation (default false): `c + g(c − α·u)`. */
  readonly useOriginalFormulation?: boolean
  /** start/stop as `[start, end]` fractions of the run (default `[0, 1]`); zero-init ignores it, as in diffusers. */
  readonly window?: GuidanceWindow
  /** enabled (default true); disabled also skips zero-init. */
  readonly enabled?: boolean
}

/** Options of a CFG-Zero* middleware after validation: what `toJSON()` returns, minus `name`. */
export interface ResolvedCfgZeroStarOptions {
  readonly scale: number
  readonly zeroInitSteps: number
  readonly rescale: number
  readonly useOriginalFormulation: boolean
  readonly window: GuidanceWindow
  readonly enabled: boolean
}

/** The JSON form of a CFG-Zero* middleware. */
export type CfgZeroStarJson = MiddlewareJSON & { readonly name: "cfg-zero-star" } & ResolvedCfgZeroStarOptions

/** The CFG-Zero* middleware made by {@link cfgZeroStar}. */
export interface CfgZeroStarMiddleware extends GuidanceMiddleware {
  readonly name: "cfg-zero-star"
  readonly options: ResolvedCfgZeroStarOptions
  /** True when the step computes `u` and guides (not a zero-init step, inside the window, scale not neutral). */
  isActive(ctx: StepContext): boolean
  /** True when the step's prediction is all zeros (`stepIndex < zeroInitSteps`). */
  isZeroInit(ctx: StepContext): boolean
  /** A new middleware with some options changed (validated again). */
  with(patch: Partial<CfgZeroStarOptions>): CfgZeroStarMiddleware
  /** Plain JSON: `cfgZeroStar(json)` (with or without `name`) rebuilds an equal middleware. */
  toJSON(): CfgZeroStarJson
}

const optionNames: OptionNames = {
  scale: ["guidance_scale", "guidanceScale"],
  zeroInitSteps: ["zero_init_steps", "use_zero_init"],
  rescale: ["guidance_rescale", "guidanceRescale"],
  useOriginalFormulation: ["use_original_formulation"],
  window: ["start", "stop"],
  enabled: [],
}

const uncond: BranchSpec = Object.freeze({ name: "uncond", conditioning: "uncond" })
const cond: BranchSpec = Object.freeze({ name: "cond", conditioning: "cond" })

function resolve(options: CfgZeroStarOptions): ResolvedCfgZeroStarOptions {
  checkOptionsObject(options, "cfgZeroStar()", "{ scale: 5, zeroInitSteps: 1 }")
  checkOptionKeys("cfgZeroStar()", "cfg-zero-star", options, optionNames)
  const zeroInitSteps = options.zeroInitSteps ?? 1
  if (typeof zeroInitSteps !== "number" || !Number.isInteger(zeroInitSteps) || zeroInitSteps < 0) {
    throw new GuidanceOptionsError(
      `cfgZeroStar() zeroInitSteps: expected a whole number >= 0 of steps, found ${JSON.stringify(zeroInitSteps)}. Use 0 to skip zero-init.`,
    )
  }
  return Object.freeze({
    scale: validateFinite(options.scale, "cfgZeroStar() scale", 7.5),
    zeroInitSteps,
    rescale: validateScale(options.rescale, "cfgZeroStar() rescale", 0),
    useOriginalFormulation: validateBoolean(options.useOriginalFormulation, "cfgZeroStar() useOriginalFormulation", false),
    window: validateWindow(options.window, "cfgZeroStar() window"),
    enabled: validateBoolean(options.enabled, "cfgZeroStar() enabled", true),
  })
}

/**
 * CFG-Zero* (Fan et al. 2025, https://arxiv.org/abs/2503.18886): CFG with the unconditional
 * prediction scaled per sample by `α = ⟨c, u⟩ / (‖u‖² + 1e-8)`, `α·u + g(c − α·u)`, and an all-zero
 * prediction on the first `zeroInitSteps` steps. Asks for `[uncond, cond]` rows where it guides; on
 * zero-init steps it needs no `uncond` row (diffusers computes one and discards it).
 *
 * Zero-init runs in `finish`, so it zeroes the chain's whole sum (terms of later middlewares too),
 * as the paper's reference code zeroes the final `noise_pred`; guidance_rescale is skipped on those
 * steps (diffusers would divide by the zero std there and return NaN).
 *
 * Ported from diffusers `guiders/classifier_free_zero_star_guidance.py` (`forward`, `_is_cfg_enabled`,
 * `cfg_zero_star_scale`).
 *
 * @example
 * const chain = guidance(cfgZeroStar({ scale: 4, zeroInitSteps: 1 }))
 */
export function cfgZeroStar(options: CfgZeroStarOptions = {}): CfgZeroStarMiddleware {
  const resolved = resolve(options)
  const { scale, zeroInitSteps, rescale, useOriginalFormulation, window, enabled } = resolved
  const isZeroInit = (ctx: StepContext): boolean => enabled && ctx.stepIndex < zeroInitSteps
  const isActive = (ctx: StepContext): boolean =>
    enabled && !isZeroInit(ctx) && isInWindow(window, ctx) && !isNeutralScale(scale, useOriginalFormulation)

  return Object.freeze({
    name: "cfg-zero-star" as const,
    options: resolved,
    isActive,
    isZeroInit,
    with: (patch: Partial<CfgZeroStarOptions>): CfgZeroStarMiddleware => cfgZeroStar({ ...resolved, ...patch }),
    toJSON: (): CfgZeroStarJson => ({ name: "cfg-zero-star", ...resolved, window: [resolved.window[0], resolved.window[1]] }),

    branches(ctx: StepContext): readonly BranchSpec[] {
      return isActive(ctx) ? [uncond, cond] : []
    },

    combine(prev: Tensor | undefined, preds: Predictions, ctx: StepContext): Tensor | undefined {
      if (!isActive(ctx)) return prev
      const [noisePredText, noisePredUncond] = condUncond(preds, "cfgZeroStar")
      return foldGuided(prev, cfgZeroStarGuidance(noisePredText, noisePredUncond, scale, useOriginalFormulation), noisePredText)
    },

    finish(guided: Tensor, preds: Predictions, ctx: StepContext): Tensor {
      if (isZeroInit(ctx)) return Tensor.zeros(guided.shape, guided.dtype) // pred = torch.zeros_like(pred_cond)
      if (rescale <= 0 || !isActive(ctx)) return guided
      return rescaleNoiseCfg(guided, preds.get("cond"), rescale)
    },
  })
}
