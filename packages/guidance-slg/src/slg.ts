// Skip-Layer Guidance as a middleware. Ported from diffusers guiders/skip_layer_guidance.py (SkipLayerGuidance.forward,
// _is_slg_enabled) and pipelines/stable_diffusion_3/pipeline_stable_diffusion_3.py (skip_guidance_layers window).
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

/** Hook kind SLG activates: whole transformer blocks become the identity on the perturbed rows (`@pagkit/onnx` blockSkip). */
export const BLOCK_SKIP = "block-skip"

/** Options of {@link slg}: diffusers' `SkipLayerGuidance` arguments, camelCased, with its defaults. */
export interface SlgOptions {
  /** skip_layer_guidance_scale `s` (default 2.8); 0 turns SLG off. */
  readonly scale?: number
  /**
   * Blocks to skip: layer patterns over transformer blocks (`"mid"`, `"blocks.7"`, `"transformer_blocks.7"`), or block
   * indices of a DiT as diffusers' `skip_layer_guidance_layers` (`7` = top-level `transformer_blocks.7`).
   */
  readonly layers: string | number | readonly (string | number)[]
  /** `[skip_layer_guidance_start, skip_layer_guidance_stop]` (default `[0.01, 0.2]`, StabilityAI's SD 3.5 advice). */
  readonly window?: GuidanceWindow
  /** How the window is read: `"guider"` (default, diffusers' guider) or `"sd3"` (the SD3 pipeline's arguments). */
  readonly windowRule?: WindowRule
  /** Without CFG: `c + s(c − c_skip)` when true, diffusers' native `c_skip + s(c − c_skip)` when false (default). */
  readonly useOriginalFormulation?: boolean
  /** Middleware and branch name (default `"slg"`). */
  readonly name?: string
}

/** Options of an SLG middleware after validation. */
export interface ResolvedSlgOptions {
  readonly scale: number
  readonly layers: readonly string[]
  readonly window: GuidanceWindow
  readonly windowRule: WindowRule
  readonly useOriginalFormulation: boolean
  readonly name: string
}

/** The Skip-Layer Guidance middleware made by {@link slg}. */
export interface SlgMiddleware extends GuidanceMiddleware {
  readonly options: ResolvedSlgOptions
  readonly hooks: readonly HookSpec[]
  /** True when the step computes skipped rows. */
  isActive(ctx: StepContext): boolean
}

/** A block index as an anchored pattern over top-level DiT blocks (never `transformer_blocks.10` for 1). */
function layerPattern(layer: string | number): string {
  if (typeof layer === "number") {
    if (!Number.isInteger(layer) || layer < 0) throw new GuidanceOptionsError(`slg() layers: a block index must be a whole number >= 0, found ${layer}.`)
    return `^transformer_blocks\\.${layer}$`
  }
  if (typeof layer !== "string" || layer.trim() === "") {
    throw new GuidanceOptionsError(`slg() layers: expected patterns such as "blocks.7" or block indices such as 7, found ${JSON.stringify(layer)}.`)
  }
  return layer
}

function resolve(options: SlgOptions): ResolvedSlgOptions {
  if (options === null || typeof options !== "object") {
    throw new GuidanceOptionsError(`slg(): expected an options object like { scale: 2.8, layers: [7, 8, 9] }, found ${String(options)}.`)
  }
  checkOptionNames("slg()", options, ["scale", "layers", "window", "windowRule", "useOriginalFormulation", "name"])
  if (options.layers === undefined) {
    throw new GuidanceOptionsError('slg(): `layers` is required: block patterns ("mid", "blocks.7") or DiT block indices ([7, 8, 9] for SD 3.5 Medium).')
  }
  const list = Array.isArray(options.layers) ? (options.layers as readonly (string | number)[]) : [options.layers as string | number]
  if (list.length === 0) throw new GuidanceOptionsError("slg() layers: the list is empty, so no block would be skipped. Give blocks, or scale 0 to switch SLG off.")
  const name = options.name ?? "slg"
  if (typeof name !== "string" || name === "" || name === "cond" || name === "uncond") {
    throw new GuidanceOptionsError(`slg() name: expected a non-empty name other than "cond"/"uncond", found ${JSON.stringify(name)}.`)
  }
  if (options.useOriginalFormulation !== undefined && typeof options.useOriginalFormulation !== "boolean") {
    throw new GuidanceOptionsError(`slg() useOriginalFormulation: expected true or false, found ${JSON.stringify(options.useOriginalFormulation)}.`)
  }
  return Object.freeze({
    scale: validateScale(options.scale, "slg() scale", 2.8),
    layers: Object.freeze([...new Set(list.map(layerPattern))]),
    window: validateWindow(options.window ?? [0.01, 0.2], "slg() window"),
    windowRule: validateWindowRule(options.windowRule, "slg() windowRule", "guider"),
    useOriginalFormulation: options.useOriginalFormulation ?? false,
    name,
  })
}

/**
 * Skip-Layer Guidance: a branch of conditional rows whose `layers` blocks are skipped (output = input), and the term
 * `s·(c − c_skip)` added to the chain's prediction — `u + g(c − u) + s(c − c_skip)` after CFG, as diffusers'
 * guider and the SD3 pipeline compute it. Without CFG, diffusers' native formulation starts from `c_skip`.
 *
 * @example
 * const chain = guidance(cfg({ scale: 7 }), slg({ scale: 2.8, layers: [7, 8, 9] }))     // SD 3.5 Medium
 * const unet = guidance(cfg({ scale: 5 }), slg({ scale: 2, layers: ["mid"], window: [0, 1] }))
 */
export function slg(options: SlgOptions): SlgMiddleware {
  const resolved = resolve(options)
  const { scale, layers, window, windowRule, useOriginalFormulation, name } = resolved
  const skipped: BranchSpec = Object.freeze({ name, conditioning: "cond", hooks: Object.freeze({ [BLOCK_SKIP]: layers }) })
  const cond: BranchSpec = Object.freeze({ name: "cond", conditioning: "cond" })
  const hooks: readonly HookSpec[] = Object.freeze([Object.freeze({ kind: BLOCK_SKIP, targets: layers, branch: name })])
  const isActive = (ctx: StepContext): boolean => scale !== 0 && isInWindowBy(windowRule, window, ctx)

  return Object.freeze({
    name,
    options: resolved,
    hooks,
    isActive,
    branches: (ctx: StepContext): readonly BranchSpec[] => (isActive(ctx) ? [cond, skipped] : []),
    combine(prev: Tensor | undefined, preds: Predictions, ctx: StepContext): Tensor | undefined {
      if (!isActive(ctx)) return prev
      const predCond = preds.get("cond")
      const predCondSkip = preds.get(name)
      const shiftSkip = scaledDifference(scale, predCond, predCondSkip) // s · (c − c_skip)
      if (prev !== undefined) return addPredictions(prev, shiftSkip)
      return addPredictions(useOriginalFormulation ? predCond : predCondSkip, shiftSkip)
    },
    toJSON: (): MiddlewareJSON => ({
      name: "slg",
      ...(name === "slg" ? {} : { as: name }),
      scale,
      layers: [...layers],
      window: [...window],
      windowRule,
      useOriginalFormulation,
    }),
  })
}
