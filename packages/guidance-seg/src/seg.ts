// Smoothed Energy Guidance as a middleware. Formula from diffusers guiders/smoothed_energy_guidance.py
// (SmoothedEnergyGuidance.forward, _is_seg_enabled); the perturbation follows the SEG reference code
// (SusungHong/SEG-SDXL, `gaussian_blur_2d`): σ above the threshold means the mean query, otherwise a Gaussian blur.
// diffusers' hook inverts those two branches and never applies itself (prepare_models does not count passes): see
// docs/guides/guidance-family.md. The blur is the `query-blur` hook kind of `@pagkit/onnx`, driven by σ per row.
import type { Tensor } from "@pagkit/tensor"
import {
  GuidanceOptionsError,
  addPredictions,
  checkOptionNames,
  isInWindowBy,
  scaledDifference,
  validateScale,
  validateWindow,
  validateWindowRule,
} from "@pagkit/guidance"
import type { BranchSpec, GuidanceMiddleware, GuidanceWindow, HookSpec, MiddlewareJSON, Predictions, StepContext, WindowRule } from "@pagkit/guidance"

/** Hook kind SEG activates: self-attention queries blurred over the token grid, σ per row (`@pagkit/onnx` queryBlur). */
export const QUERY_BLUR = "query-blur"

/** Options of {@link seg}: diffusers' `SmoothedEnergyGuidance` arguments, camelCased, with its defaults. */
export interface SegOptions {
  /** seg_guidance_scale `s` (default 2.8); 0 turns SEG off. */
  readonly scale?: number
  /** seg_blur_sigma σ (default 9999999: above the threshold, i.e. the mean query — SEG's "infinite blur"). */
  readonly blurSigma?: number
  /** seg_blur_threshold_inf (default 9999): σ above it means the mean of the queries. */
  readonly blurThresholdInf?: number
  /** Self-attention layer patterns whose queries are blurred (`"mid"`, `"blocks.7"`), or DiT block indices. */
  readonly layers: string | number | readonly (string | number)[]
  /** `[seg_guidance_start, seg_guidance_stop]` (default `[0, 1]`). */
  readonly window?: GuidanceWindow
  /** How the window is read (default `"guider"`: `int(start·N) < i < int(stop·N)`, as diffusers' SEG guider). */
  readonly windowRule?: WindowRule
  /** Without CFG: `c + s(c − c_seg)` when true, diffusers' native `c_seg + s(c − c_seg)` when false (default). */
  readonly useOriginalFormulation?: boolean
  /** Middleware and branch name (default `"seg"`). */
  readonly name?: string
}

/** Options of a SEG middleware after validation. */
export interface ResolvedSegOptions {
  readonly scale: number
  readonly blurSigma: number
  readonly blurThresholdInf: number
  readonly layers: readonly string[]
  readonly window: GuidanceWindow
  readonly windowRule: WindowRule
  readonly useOriginalFormulation: boolean
  readonly name: string
}

/** The Smoothed Energy Guidance middleware made by {@link seg}. */
export interface SegMiddleware extends GuidanceMiddleware {
  readonly options: ResolvedSegOptions
  readonly hooks: readonly HookSpec[]
  /** True when the step computes blurred rows. */
  isActive(ctx: StepContext): boolean
  /** The σ fed to the hook: `Infinity` (mean query) above the threshold, else `blurSigma`. */
  readonly sigma: number
}

function layerPattern(layer: string | number): string {
  if (typeof layer === "number") {
    if (!Number.isInteger(layer) || layer < 0) throw new GuidanceOptionsError(`seg() layers: a block index must be a whole number >= 0, found ${layer}.`)
    return `^transformer_blocks\\.${layer}\\.attn1$`
  }
  if (typeof layer !== "string" || layer.trim() === "") {
    throw new GuidanceOptionsError(`seg() layers: expected patterns such as "mid" or block indices such as 7, found ${JSON.stringify(layer)}.`)
  }
  return layer
}

function positive(value: number | undefined, what: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== "number" || Number.isNaN(value) || value < 0) {
    throw new GuidanceOptionsError(`${what}: expected a number >= 0 (Infinity allowed), found ${String(value)}.`)
  }
  return value
}

function resolve(options: SegOptions): ResolvedSegOptions {
  if (options === null || typeof options !== "object") {
    throw new GuidanceOptionsError(`seg(): expected an options object like { scale: 3, blurSigma: 10, layers: ["mid"] }, found ${String(options)}.`)
  }
  checkOptionNames("seg()", options, ["scale", "blurSigma", "blurThresholdInf", "layers", "window", "windowRule", "useOriginalFormulation", "name"])
  if (options.layers === undefined) throw new GuidanceOptionsError('seg(): `layers` is required, e.g. ["mid"] for SDXL or [7, 8, 9] for a DiT.')
  const list = Array.isArray(options.layers) ? (options.layers as readonly (string | number)[]) : [options.layers as string | number]
  if (list.length === 0) throw new GuidanceOptionsError("seg() layers: the list is empty, so nothing would be blurred. Give layers, or scale 0 to switch SEG off.")
  const name = options.name ?? "seg"
  if (typeof name !== "string" || name === "" || name === "cond" || name === "uncond") {
    throw new GuidanceOptionsError(`seg() name: expected a non-empty name other than "cond"/"uncond", found ${JSON.stringify(name)}.`)
  }
  if (options.useOriginalFormulation !== undefined && typeof options.useOriginalFormulation !== "boolean") {
    throw new GuidanceOptionsError(`seg() useOriginalFormulation: expected true or false, found ${JSON.stringify(options.useOriginalFormulation)}.`)
  }
  return Object.freeze({
    scale: validateScale(options.scale, "seg() scale", 2.8),
    blurSigma: positive(options.blurSigma, "seg() blurSigma", 9999999),
    blurThresholdInf: positive(options.blurThresholdInf, "seg() blurThresholdInf", 9999),
    layers: Object.freeze([...new Set(list.map(layerPattern))]),
    window: validateWindow(options.window, "seg() window"),
    windowRule: validateWindowRule(options.windowRule, "seg() windowRule", "guider"),
    useOriginalFormulation: options.useOriginalFormulation ?? false,
    name,
  })
}

/**
 * Smoothed Energy Guidance: a branch of conditional rows whose self-attention queries (on `layers`) are blurred with a
 * Gaussian of σ = `blurSigma` over the token grid (the mean query above `blurThresholdInf`), and the term
 * `s·(c − c_seg)` added to the chain's prediction — `u + g(c − u) + s(c − c_seg)` after CFG, as diffusers computes it.
 * σ is a run-time input of the hooked graph: changing it never rewrites the model.
 *
 * @example
 * const chain = guidance(cfg({ scale: 5 }), seg({ scale: 3, blurSigma: 10, layers: ["mid"] }))
 */
export function seg(options: SegOptions): SegMiddleware {
  const resolved = resolve(options)
  const { scale, blurSigma, blurThresholdInf, layers, window, windowRule, useOriginalFormulation, name } = resolved
  const sigma = blurSigma > blurThresholdInf ? Number.POSITIVE_INFINITY : blurSigma
  const blurred: BranchSpec = Object.freeze({ name, conditioning: "cond", hooks: Object.freeze({ [QUERY_BLUR]: Object.freeze({ layers, value: sigma }) }) })
  const cond: BranchSpec = Object.freeze({ name: "cond", conditioning: "cond" })
  const hooks: readonly HookSpec[] = Object.freeze([Object.freeze({ kind: QUERY_BLUR, targets: layers, branch: name })])
  const isActive = (ctx: StepContext): boolean => scale !== 0 && isInWindowBy(windowRule, window, ctx)

  return Object.freeze({
    name,
    options: resolved,
    hooks,
    sigma,
    isActive,
    branches: (ctx: StepContext): readonly BranchSpec[] => (isActive(ctx) ? [cond, blurred] : []),
    combine(prev: Tensor | undefined, preds: Predictions, ctx: StepContext): Tensor | undefined {
      if (!isActive(ctx)) return prev
      const predCond = preds.get("cond")
      const predCondSeg = preds.get(name)
      const shiftSeg = scaledDifference(scale, predCond, predCondSeg) // s · (c − c_seg)
      if (prev !== undefined) return addPredictions(prev, shiftSeg)
      return addPredictions(useOriginalFormulation ? predCond : predCondSeg, shiftSeg)
    },
    toJSON: (): MiddlewareJSON => ({
      name: "seg",
      ...(name === "seg" ? {} : { as: name }),
      scale,
      blurSigma,
      blurThresholdInf,
      layers: [...layers],
      window: [...window],
      windowRule,
      useOriginalFormulation,
    }),
  })
}
