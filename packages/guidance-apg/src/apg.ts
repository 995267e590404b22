import type { Tensor } from "@pagkit/tensor"
import { GuidanceOptionsError, isInWindow, validateScale, validateWindow } from "@pagkit/guidance"
import type { BranchSpec, FloatTensor, GuidanceMiddleware, GuidanceWindow, MiddlewareJSON, Predictions, StepContext } from "@pagkit/guidance"
import { rescaleNoiseCfg } from "@pagkit/guidance-cfg"
import {
  checkOptionsObject,
  condUncond,
  foldGuided,
  isNeutralScale,
  validateBoolean,
  validateFinite,
} from "@pagkit/guidance"
import { checkOptionKeys } from "@pagkit/guidance"
import type { OptionNames } from "@pagkit/guidance"
import { normalizedGuidance } from "./normalized-guidance.js"
import type { ApgFormulation } from "./normalized-guidance.js"

/** Options of {@link apg}; every one has diffusers' `AdaptiveProjectedGuidance` default. */
export interface ApgOptions {
  /** guidance_scale `g` (default 7.5). */
  readonly scale?: number
  /** adaptive_projected_guidance_momentum `β` (default `null` = no momentum; the paper uses −0.5 for SDXL). */
  readonly momentum?: number | null
  /** adaptive_projected_guidance_rescale: the largest norm of the update (default 15; 0 = no limit). */
  readonly normThreshold?: number
  /** adaptive_projected_guidance_norm_dim: axes of the norm and projection (default `null` = every non-batch axis). */
  readonly normDim?: number | readonly number[] | null
  /** eta `η`: weight of the update's part parallel to `c` (default 1). */
  readonly eta?: number
  /** guidance_rescale (default 0), applied to the guided sum against `c` on steps where APG is on. */
  readonly rescale?: number
  /** use_original_formulation (default false): `c + g·update`. */
  readonly useOriginalFormulation?: boolean
  /** Without the original formulation: `"paper"` (default) `c + (g − 1)·update`, or `"diffusers"` `u + g·update`. */
  readonly formulation?: ApgFormulation
  /** start/stop as `[start, end]` fractions of the run (default `[0, 1]`). */
  readonly window?: GuidanceWindow
  /** enabled (default true). */
  readonly enabled?: boolean
}

/** Options of an APG middleware after validation: what `toJSON()` returns, minus `name`. */
export interface ResolvedApgOptions {
  readonly scale: number
  readonly momentum: number | null
  readonly normThreshold: number
  readonly normDim: readonly number[] | null
  readonly eta: number
  readonly rescale: number
  readonly useOriginalFormulation: boolean
  readonly formulation: ApgFormulation
  readonly window: GuidanceWindow
  readonly enabled: boolean
}

/** The JSON form of an APG middleware: `{ name: "apg", …resolved options }`. */
export type ApgJson = MiddlewareJSON & { readonly name: "apg" } & ResolvedApgOptions

/** The Adaptive Projected Guidance middleware made by {@link apg}. */
export interface ApgMiddleware extends GuidanceMiddleware {
  readonly name: "apg"
  readonly options: ResolvedApgOptions
  /** True when APG computes `u` and guides at this step. */
  isActive(ctx: StepContext): boolean
  /** A new APG middleware with some options changed (validated again; fresh momentum state). */
  with(patch: Partial<ApgOptions>): ApgMiddleware
  /** Plain JSON: `apg(json)` (with or without `name`) rebuilds an equal middleware. */
  toJSON(): ApgJson
}

const optionNames: OptionNames = {
  scale: ["guidance_scale", "guidanceScale"],
  momentum: ["adaptive_projected_guidance_momentum"],
  normThreshold: ["adaptive_projected_guidance_rescale", "norm_threshold", "adaptive_projected_guidance_rescale_factor"],
  normDim: ["adaptive_projected_guidance_norm_dim"],
  eta: [],
  rescale: ["guidance_rescale", "guidanceRescale"],
  useOriginalFormulation: ["use_original_formulation"],
  formulation: [],
  window: ["start", "stop"],
  enabled: [],
}

const uncond: BranchSpec = Object.freeze({ name: "uncond", conditioning: "uncond" })
const cond: BranchSpec = Object.freeze({ name: "cond", conditioning: "cond" })

function resolveNormDim(value: ApgOptions["normDim"]): readonly number[] | null {
  if (value === undefined || value === null) return null
  const list = typeof value === "number" ? [value] : value
  if (!Array.isArray(list) || list.length === 0 || list.some((d) => !Number.isInteger(d))) {
    throw new GuidanceOptionsError(
      `apg() normDim: expected an axis or a non-empty list of axes (integers, e.g. -1 or [-1, -2]), found ${JSON.stringify(value)}. ` +
        `Leave it out (or null) for every non-batch axis.`,
    )
  }
  return Object.freeze([...(list as number[])])
}

function resolve(options: ApgOptions): ResolvedApgOptions {
  checkOptionsObject(options, "apg()", "{ scale: 7.5, eta: 0, normThreshold: 15 }")
  checkOptionKeys("apg()", "apg", options, optionNames)
  const momentum = options.momentum === undefined || options.momentum === null ? null : validateFinite(options.momentum, "apg() momentum", 0)
  const formulation = options.formulation ?? "paper"
  if (formulation !== "paper" && formulation !== "diffusers") {
    throw new GuidanceOptionsError(`apg() formulation: expected "paper" or "diffusers", found ${JSON.stringify(formulation)}.`)
  }
  return Object.freeze({
    scale: validateFinite(options.scale, "apg() scale", 7.5),
    momentum,
    normThreshold: validateScale(options.normThreshold, "apg() normThreshold", 15),
    normDim: resolveNormDim(options.normDim),
    eta: validateFinite(options.eta, "apg() eta", 1),
    rescale: validateScale(options.rescale, "apg() rescale", 0),
    useOriginalFormulation: validateBoolean(options.useOriginalFormulation, "apg() useOriginalFormulation", false),
    formulation,
    window: validateWindow(options.window, "apg() window"),
    enabled: validateBoolean(options.enabled, "apg() enabled", true),
  })
}

/** Momentum buffer of the run in progress (see {@link apg} for when it resets). */
interface MomentumState {
  stepIndex: number
  numSteps: number
  /** Running average before the last guided step, and after it. */
  before: FloatTensor | undefined
  after: FloatTensor | undefined
  /** stepIndex of the last guided step (-1 = none yet in this run). */
  guidedStep: number
}

/**
 * Adaptive Projected Guidance (Sadat et al. 2024, https://arxiv.org/abs/2410.02416): CFG whose update
 * `c − u` is (optionally) averaged with momentum, limited in norm, and split into parts parallel and
 * orthogonal to `c`, the parallel part weighted by `eta`. Asks for `[uncond, cond]` rows on steps
 * where it is on; off (and no `uncond` row) outside the window, when disabled, or for a neutral scale
 * (`g ≈ 1`, or `g ≈ 0` with `useOriginalFormulation`), exactly as diffusers' `_is_apg_enabled`.
 *
 * Momentum state: the middleware value keeps the running average of the run in progress. It resets
 * at step 0 and when the step count changes, so a value reused across runs starts every run fresh,
 * like diffusers' `prepare_inputs` at `_step == 0`; it updates only on guided steps. Calling
 * `combine` again for the same step recomputes that step from the same buffer. A step that is
 * neither the last one again nor the next one (two runs interleaved on one value) throws: give each
 * concurrent run its own value (`apg(middleware.toJSON())`).
 *
 * Ported from diffusers `guiders/adaptive_projected_guidance.py` (`AdaptiveProjectedGuidance.forward`,
 * `_is_apg_enabled`, `normalized_guidance`, `MomentumBuffer`).
 *
 * @example
 * const chain = guidance(apg({ scale: 10, eta: 0, normThreshold: 15, momentum: -0.5 }), pag({ scale: 3, layers: ["mid"] }))
 */
export function apg(options: ApgOptions = {}): ApgMiddleware {
  const resolved = resolve(options)
  const { scale, rescale, window, enabled, useOriginalFormulation } = resolved
  const isActive = (ctx: StepContext): boolean =>
    enabled && isInWindow(window, ctx) && !isNeutralScale(scale, useOriginalFormulation)
  let state: MomentumState | undefined

  /** Follows the run: a new buffer at step 0 (or a new step count); steps must come in order. */
  const track = (ctx: StepContext): void => {
    if (resolved.momentum === null) return
    if (state === undefined || ctx.stepIndex === 0 || ctx.numSteps !== state.numSteps) {
      state = { stepIndex: ctx.stepIndex, numSteps: ctx.numSteps, before: undefined, after: undefined, guidedStep: -1 }
      return
    }
    if (ctx.stepIndex !== state.stepIndex && ctx.stepIndex !== state.stepIndex + 1) {
      throw new GuidanceOptionsError(
        `apg(): step ${ctx.stepIndex} of ${ctx.numSteps} came after step ${state.stepIndex}; APG's momentum buffer follows one run at a time. ` +
          `Steps of a run must come in order from step 0; give each concurrent run its own middleware (apg(middleware.toJSON())).`,
      )
    }
    state.stepIndex = ctx.stepIndex
  }

  const middleware: ApgMiddleware = {
    name: "apg" as const,
    options: resolved,
    isActive,
    with: (patch: Partial<ApgOptions>): ApgMiddleware => apg({ ...resolved, ...patch }),
    toJSON: (): ApgJson => ({
      name: "apg",
      ...resolved,
      normDim: resolved.normDim === null ? null : [...resolved.normDim],
      window: [resolved.window[0], resolved.window[1]],
    }),

    branches(ctx: StepContext): readonly BranchSpec[] {
      return isActive(ctx) ? [uncond, cond] : []
    },

    combine(prev: Tensor | undefined, preds: Predictions, ctx: StepContext): Tensor | undefined {
      track(ctx)
      if (!isActive(ctx)) return prev
      const [noisePredText, noisePredUncond] = condUncond(preds, "apg")
      // Same step again (combine called twice): recompute from the buffer this step started from.
      const before = state === undefined ? undefined : state.guidedStep === ctx.stepIndex ? state.before : state.after
      const { guided, runningAverage } = normalizedGuidance(noisePredText, noisePredUncond, { ...resolved, previousAverage: before })
      if (state !== undefined && resolved.momentum !== null) {
        state.before = before
        state.after = runningAverage
        state.guidedStep = ctx.stepIndex
      }
      return foldGuided(prev, guided, noisePredText)
    },

    finish(guided: Tensor, preds: Predictions, ctx: StepContext): Tensor {
      if (rescale <= 0 || !isActive(ctx)) return guided
      return rescaleNoiseCfg(guided, preds.get("cond"), rescale)
    },
  }
  return Object.freeze(middleware)
}
