import type { Tensor } from "@pagkit/tensor"
import {
  GuidanceOptionsError,
  checkOptionNames,
  addPredictions,
  isInWindow,
  scaledDifference,
  validateScale,
  validateWindow,
} from "@pagkit/guidance"
import type { BranchSpec, GuidanceMiddleware, GuidanceWindow, MiddlewareJSON, Predictions, StepContext } from "@pagkit/guidance"
import { rescaleNoiseCfg } from "./rescale.js"

/** Options of {@link cfg}. */
export interface CfgOptions {
  /** guidance_scale `g`; CFG is on when `g > 1` (diffusers' `do_classifier_free_guidance`). */
  readonly scale: number
  /** guidance_rescale `r` (default 0 = off); applied after every other term, only on steps where CFG is on. */
  readonly rescale?: number
  /** `[start, end]` fractions of the run where CFG is on (default `[0, 1]`); outside it the step uses `c`. */
  readonly window?: GuidanceWindow
}

/** Options of a CFG middleware after validation. */
export interface ResolvedCfgOptions {
  readonly scale: number
  readonly rescale: number
  readonly window: GuidanceWindow
}

/** The classifier-free guidance middleware made by {@link cfg}. */
export interface CfgMiddleware extends GuidanceMiddleware {
  readonly name: "cfg"
  readonly options: ResolvedCfgOptions
  /** True when CFG computes `u` and guides at this step (`g > 1` and inside the window). */
  isActive(ctx: StepContext): boolean
  /** A new CFG middleware with some options changed (validated again). */
  with(patch: Partial<CfgOptions>): CfgMiddleware
}

const uncond: BranchSpec = Object.freeze({ name: "uncond", conditioning: "uncond" })
const cond: BranchSpec = Object.freeze({ name: "cond", conditioning: "cond" })

function resolve(options: CfgOptions): ResolvedCfgOptions {
  if (options === null || typeof options !== "object") {
    throw new GuidanceOptionsError(`cfg(): expected an options object like { scale: 5 }, found ${String(options)}.`)
  }
  checkOptionNames("cfg()", options, ["scale", "rescale", "window"])
  if (options.scale === undefined) {
    throw new GuidanceOptionsError("cfg(): `scale` is required (guidance_scale; e.g. 5 for SDXL, 1 or less turns CFG off).")
  }
  return Object.freeze({
    scale: validateScale(options.scale, "cfg() scale", 0),
    rescale: validateScale(options.rescale, "cfg() rescale", 0),
    window: validateWindow(options.window, "cfg() window"),
  })
}

/**
 * Classifier-free guidance: `u + g(c − u)` on steps where it is on, `c` otherwise (asks for no
 * `uncond` row then). With `rescale`, its `finish` step applies guidance_rescale against `c` after
 * every other middleware's term — so `guidance(cfg({ scale, rescale }), pag(…))` rescales
 * `u + g(c − u) + s_t(c − p)` exactly as diffusers' PAG pipelines do.
 *
 * Ported from diffusers `pipelines/pag/pipeline_pag_sd_xl.py` `__call__` (guidance block) and
 * `guiders/classifier_free_guidance.py` (window rule).
 *
 * @example
 * const chain = guidance(cfg({ scale: 7, rescale: 0.7, window: [0, 0.8] }))
 */
export function cfg(options: CfgOptions): CfgMiddleware {
  const resolved = resolve(options)
  const { scale, rescale, window } = resolved
  const isActive = (ctx: StepContext): boolean => scale > 1 && isInWindow(window, ctx)

  return Object.freeze({
    name: "cfg" as const,
    options: resolved,
    isActive,
    with: (patch: Partial<CfgOptions>): CfgMiddleware => cfg({ ...resolved, ...patch }),
    toJSON: (): MiddlewareJSON => ({ name: "cfg", scale, rescale, window: [...window] }),

    branches(ctx: StepContext): readonly BranchSpec[] {
      return isActive(ctx) ? [uncond, cond] : []
    },

    combine(prev: Tensor | undefined, preds: Predictions, ctx: StepContext): Tensor | undefined {
      if (!isActive(ctx)) return prev
      const noisePredUncond = preds.get("uncond")
      const noisePredText = preds.get("cond")
      // First in the chain (the usual case): diffusers' exact expression and rounding order.
      if (prev === undefined) return addPredictions(noisePredUncond, scaledDifference(scale, noisePredText, noisePredUncond))
      // After another term: u + g(c − u) = c + (g − 1)(c − u), added to what the chain has so far.
      return addPredictions(prev, scaledDifference(scale - 1, noisePredText, noisePredUncond))
    },

    finish(guided: Tensor, preds: Predictions, ctx: StepContext): Tensor {
      if (rescale <= 0 || !isActive(ctx)) return guided
      return rescaleNoiseCfg(guided, preds.get("cond"), rescale)
    },
  })
}
