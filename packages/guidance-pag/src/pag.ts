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
import type { BranchSpec, GuidanceMiddleware, GuidanceWindow, HookSpec, MiddlewareJSON, Predictions, StepContext } from "@pagkit/guidance"
import { adaptivePagScale } from "./adaptive-scale.js"

/** Hook kind PAG activates: self-attention replaced by the identity map on the perturbed rows. */
export const IDENTITY_ATTENTION = "identity-attention"

/** Options of {@link pag}. */
export interface PagOptions {
  /** pag_scale `s` (default 3, diffusers' default); 0 turns PAG off. */
  readonly scale?: number
  /** Self-attention layer patterns to perturb (`"mid"`, `"down_blocks.2"`, `"blocks.1"`, `"up.block_1.attentions_0"`); `[]` turns PAG off. */
  readonly layers: string | readonly string[]
  /** pag_adaptive_scale `a` (default 0): `s_t = max(0, s − a·(1000 − t))`. Needs layers. */
  readonly adaptiveScale?: number
  /** `[start, end]` fractions of the run where PAG is on (default `[0, 1]`). */
  readonly window?: GuidanceWindow
  /** Middleware and branch name (default `"pag"`); give two PAG middlewares different names to combine them. */
  readonly name?: string
}

/** Options of a PAG middleware after validation. */
export interface ResolvedPagOptions {
  readonly scale: number
  readonly layers: readonly string[]
  readonly adaptiveScale: number
  readonly window: GuidanceWindow
  readonly name: string
}

/** The Perturbed-Attention Guidance middleware made by {@link pag}. */
export interface PagMiddleware extends GuidanceMiddleware {
  readonly options: ResolvedPagOptions
  readonly hooks: readonly HookSpec[]
  /** `s_t` for a step: the adaptive scale inside the window, 0 outside it or when PAG is off. */
  scaleAt(ctx: StepContext): number
  /** True when the step computes perturbed rows (`s_t > 0`, layers given, inside the window). */
  isActive(ctx: StepContext): boolean
  /** A new PAG middleware on other layers (the chain is immutable: use `chain.with(p.withLayers(…))`). */
  withLayers(layers: string | readonly string[]): PagMiddleware
  /** A new PAG middleware with some options changed (validated again). */
  with(patch: Partial<PagOptions>): PagMiddleware
}

function resolveLayers(layers: unknown): readonly string[] {
  const list = typeof layers === "string" ? [layers] : layers
  if (!Array.isArray(list) || list.some((l) => typeof l !== "string" || l.trim() === "")) {
    throw new GuidanceOptionsError(
      `pag() layers: expected a layer pattern or a list of them (e.g. ["mid"] or "blocks.1"), found ${JSON.stringify(layers)}. ` +
        `Pass [] to switch PAG off.`,
    )
  }
  return Object.freeze([...new Set(list as string[])])
}

function resolve(options: PagOptions): ResolvedPagOptions {
  if (options === null || typeof options !== "object") {
    throw new GuidanceOptionsError(`pag(): expected an options object like { scale: 3, layers: ["mid"] }, found ${String(options)}.`)
  }
  checkOptionNames("pag()", options, ["scale", "layers", "adaptiveScale", "window", "name"])
  if (options.layers === undefined) {
    throw new GuidanceOptionsError('pag(): `layers` is required, e.g. ["mid"] for SDXL or ["blocks.1"] for PixArt-Sigma.')
  }
  const layers = resolveLayers(options.layers)
  const adaptiveScale = validateScale(options.adaptiveScale, "pag() adaptiveScale", 0)
  if (adaptiveScale > 0 && layers.length === 0) {
    throw new GuidanceOptionsError(
      `pag(): adaptiveScale ${adaptiveScale} was given but layers is empty, so PAG never runs. Give layers, or drop adaptiveScale.`,
    )
  }
  const name = options.name ?? "pag"
  if (typeof name !== "string" || name === "" || name === "cond" || name === "uncond") {
    throw new GuidanceOptionsError(`pag() name: expected a non-empty name other than "cond"/"uncond", found ${JSON.stringify(name)}.`)
  }
  return Object.freeze({
    scale: validateScale(options.scale, "pag() scale", 3),
    layers,
    adaptiveScale,
    window: validateWindow(options.window, "pag() window"),
    name,
  })
}

/**
 * Perturbed-Attention Guidance: asks for a perturbed branch (conditional rows with identity
 * self-attention on `layers`) and adds `s_t(c − p)` to the chain's prediction:
 * `u + g(c − u) + s_t(c − p)` after CFG, `c + s_t(c − p)` alone. Skipped (no perturbed row) when
 * `s_t` is 0, the scale is 0, there are no layers, or the step is outside the window.
 *
 * Ported from diffusers `pipelines/pag/pag_utils.py` `PAGMixin._get_pag_scale` and
 * `_apply_perturbed_attention_guidance`.
 *
 * @example
 * const chain = guidance(cfg({ scale: 5 }), pag({ scale: 3, layers: ["mid"], adaptiveScale: 0.005 }))
 */
export function pag(options: PagOptions): PagMiddleware {
  const resolved = resolve(options)
  const { scale, layers, adaptiveScale, window, name } = resolved
  const perturbed: BranchSpec = Object.freeze({
    name,
    conditioning: "cond",
    hooks: Object.freeze({ [IDENTITY_ATTENTION]: layers }),
  })
  const cond: BranchSpec = Object.freeze({ name: "cond", conditioning: "cond" })
  const hooks: readonly HookSpec[] =
    layers.length > 0 ? Object.freeze([Object.freeze({ kind: IDENTITY_ATTENTION, targets: layers, branch: name })]) : Object.freeze([])

  const scaleAt = (ctx: StepContext): number => {
    if (scale <= 0 || layers.length === 0 || !isInWindow(window, ctx)) return 0
    return adaptivePagScale(scale, adaptiveScale, ctx.timestep)
  }
  const isActive = (ctx: StepContext): boolean => scaleAt(ctx) > 0

  return Object.freeze({
    name,
    options: resolved,
    hooks,
    scaleAt,
    isActive,
    withLayers: (next: string | readonly string[]): PagMiddleware => pag({ ...resolved, layers: next }),
    with: (patch: Partial<PagOptions>): PagMiddleware => pag({ ...resolved, ...patch }),
    toJSON: (): MiddlewareJSON => ({
      name: "pag",
      ...(name === "pag" ? {} : { as: name }),
      scale,
      layers: [...layers],
      adaptiveScale,
      window: [...window],
    }),

    branches(ctx: StepContext): readonly BranchSpec[] {
      return isActive(ctx) ? [cond, perturbed] : []
    },

    combine(prev: Tensor | undefined, preds: Predictions, ctx: StepContext): Tensor | undefined {
      const pagScale = scaleAt(ctx)
      if (pagScale <= 0) return prev
      const noisePredText = preds.get("cond")
      const noisePredPerturb = preds.get(name)
      // noise_pred (+ CFG term so far) + s_t · (noise_pred_text − noise_pred_perturb)
      return addPredictions(prev ?? noisePredText, scaledDifference(pagScale, noisePredText, noisePredPerturb))
    },
  })
}
