import { PredictionShapeError, asFloatTensor, roundingFor } from "@pagkit/guidance"
import type { FloatTensor } from "@pagkit/guidance"
import { Tensor, sameShape } from "@pagkit/tensor"
import { axisGroups, resolveAxes } from "./internal/reduce-axes.js"

/** How APG's normalized update is added (see the package README for why `"paper"` is the default). */
export type ApgFormulation = "paper" | "diffusers"

/** Inputs of {@link normalizedGuidance} besides the two predictions. */
export interface NormalizedGuidanceOptions {
  /** guidance_scale `g`. */
  readonly scale: number
  /** Weight of the update's component parallel to `c` (1 = keep it, 0 = drop it). */
  readonly eta: number
  /** Largest L2 norm of the update per sample (over `normDim`); 0 = no limit. */
  readonly normThreshold: number
  /** Axes of the norm and the projection; `null` = every non-batch axis. */
  readonly normDim: readonly number[] | null
  /** `c + g·update` (diffusers' `use_original_formulation=True`). */
  readonly useOriginalFormulation: boolean
  /** Without the original formulation: `"paper"` = `c + (g − 1)·update`, `"diffusers"` = `u + g·update`. */
  readonly formulation: ApgFormulation
  /** Momentum `β`, or `null` for none. */
  readonly momentum: number | null
  /** The momentum buffer's running average after the previous guided step; `undefined` = fresh buffer. */
  readonly previousAverage?: FloatTensor | undefined
}

/** Result of {@link normalizedGuidance}. */
export interface NormalizedGuidanceResult {
  /** The guided prediction, same shape and dtype as `c`. */
  readonly guided: FloatTensor
  /** The momentum buffer's running average after this step (`undefined` without momentum). */
  readonly runningAverage: FloatTensor | undefined
}

/**
 * Adaptive Projected Guidance for one step (Sadat et al. 2024, Algorithm 1), in diffusers' op order
 * and dtype: `diff = c − u`; momentum `avg = diff + β·avg`; the norm of `diff` over `normDim`
 * limited to `normThreshold` (`diff · min(1, r / ‖diff‖)` with torch's `r / x = (1/x)·r`); `diff`
 * split into parts parallel and orthogonal to `c` **in float64** (then cast back);
 * `update = orthogonal + η·parallel`; finally the formulation's sum.
 *
 * Ported from diffusers `guiders/adaptive_projected_guidance.py` `normalized_guidance` and `MomentumBuffer`.
 *
 * @example
 * const { guided } = normalizedGuidance(noisePredText, noisePredUncond, {
 *   scale: 7.5, eta: 0, normThreshold: 15, normDim: null, useOriginalFormulation: false, formulation: "paper", momentum: null,
 * })
 */
export function normalizedGuidance(cond: Tensor, uncond: Tensor, options: NormalizedGuidanceOptions): NormalizedGuidanceResult {
  const c = asFloatTensor(cond, "apg: conditional prediction")
  const u = asFloatTensor(uncond, "apg: unconditional prediction")
  if (c.dtype !== u.dtype || !sameShape(c.shape, u.shape) || c.rank < 2) {
    throw new PredictionShapeError(
      `apg: expected two predictions [batch, …] of one dtype and shape, found ${c.describe()} and ${u.describe()}.`,
    )
  }
  const round = roundingFor(c.dtype)
  const size = c.size
  const cd = c.data
  const ud = u.data
  const make = (): Float32Array | Float64Array => (c.dtype === "float32" ? new Float32Array(size) : new Float64Array(size))

  // diff = pred_cond - pred_uncond
  let diff = make()
  for (let i = 0; i < size; i++) diff[i] = cd[i]! - ud[i]!

  // momentum_buffer.update(diff); diff = momentum_buffer.running_average
  let runningAverage: FloatTensor | undefined
  if (options.momentum !== null) {
    const previous = options.previousAverage
    if (previous !== undefined) {
      if (previous.dtype !== c.dtype || !sameShape(previous.shape, c.shape)) {
        throw new PredictionShapeError(
          `apg: the momentum buffer holds ${previous.describe()} but this step's prediction is ${c.describe()}; start a new run (step 0) to reset it.`,
        )
      }
      const beta = round(options.momentum)
      const avg = previous.data
      const next = make()
      for (let i = 0; i < size; i++) next[i] = diff[i]! + round(beta * avg[i]!) // update_value + momentum * running_average
      diff = next
    } // first update: diff + momentum · 0 = diff
    runningAverage = new Tensor(c.dtype, diff.slice(), c.shape) as FloatTensor
  }

  const axes = resolveAxes(options.normDim, c.rank)
  const { groupOf, count } = axisGroups(c.shape, axes)

  // diff = diff * minimum(ones, norm_threshold / diff.norm(p=2, dim, keepdim=True))
  if (options.normThreshold > 0) {
    const squares = new Float64Array(count)
    for (let i = 0; i < size; i++) squares[groupOf[i]!]! += diff[i]! * diff[i]!
    const threshold = round(options.normThreshold)
    const factor = new Float64Array(count)
    for (let g = 0; g < count; g++) {
      const norm = round(Math.sqrt(squares[g]!))
      factor[g] = Math.min(1, round(round(1 / norm) * threshold)) // python float / tensor = reciprocal(tensor) * float
    }
    const limited = make()
    for (let i = 0; i < size; i++) limited[i] = diff[i]! * factor[groupOf[i]!]!
    diff = limited
  }

  // Projection in float64: v1 = normalize(c); parallel = (v0 · v1) v1; orthogonal = v0 − parallel
  const condSquares = new Float64Array(count)
  for (let i = 0; i < size; i++) condSquares[groupOf[i]!]! += cd[i]! * cd[i]!
  const condNorm = condSquares.map((s) => Math.max(Math.sqrt(s), 1e-12)) // F.normalize eps
  const dots = new Float64Array(count)
  for (let i = 0; i < size; i++) {
    const g = groupOf[i]!
    dots[g]! += diff[i]! * (cd[i]! / condNorm[g]!)
  }
  const eta = round(options.eta)
  const update = make()
  for (let i = 0; i < size; i++) {
    const g = groupOf[i]!
    const parallel = dots[g]! * (cd[i]! / condNorm[g]!)
    const diffParallel = round(parallel) // .to(diff.dtype)
    const diffOrthogonal = round(diff[i]! - parallel)
    update[i] = diffOrthogonal + round(eta * diffParallel) // diff_orthogonal + eta * diff_parallel
  }

  // pred = (pred_cond if use_original_formulation else pred_uncond) + guidance_scale * normalized_update
  const base = options.useOriginalFormulation || options.formulation === "paper" ? cd : ud
  const weight = round(options.useOriginalFormulation || options.formulation === "diffusers" ? options.scale : options.scale - 1)
  const guided = make()
  for (let i = 0; i < size; i++) guided[i] = base[i]! + round(weight * update[i]!)
  return { guided: new Tensor(c.dtype, guided, c.shape) as FloatTensor, runningAverage }
}
