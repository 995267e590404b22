import { PredictionShapeError, asFloatTensor, roundingFor } from "@pagkit/guidance"
import type { FloatTensor } from "@pagkit/guidance"
import { Tensor, sameShape } from "@pagkit/tensor"

/**
 * The unconditional prediction projected, per sample, onto the first right-singular vector `v₁` of
 * the 2 × N matrix `[c; u]` (diffusers: `torch.linalg.svd`, `Vh[:, 1] = 0`, `u · Vhᵀ · Vh'`):
 * `u' = (u · v₁) v₁`. Returned in float32 (diffusers runs the SVD on `.float()` inputs), then in the
 * predictions' dtype.
 *
 * `v₁` is computed in closed form in float64: it is `(a₀c + a₁u) / ‖a₀c + a₁u‖` for the top
 * eigenvector `a` of the 2 × 2 Gram matrix `[[c·c, c·u], [c·u, u·u]]`, which is what an SVD of a
 * two-row matrix yields (up to sign, which the projection does not see). When the two singular
 * values are equal (c ⟂ u with ‖c‖ = ‖u‖, where any SVD's choice is arbitrary) `v₁` is taken along `c`.
 *
 * Ported from diffusers `guiders/tangential_classifier_free_guidance.py` `normalized_guidance` (lines 135–145).
 *
 * @example
 * const uncondTangent = projectUncond(noisePredText, noisePredUncond) // [batch, …]
 */
export function projectUncond(cond: Tensor, uncond: Tensor): FloatTensor {
  const c = asFloatTensor(cond, "tcfg: conditional prediction")
  const u = asFloatTensor(uncond, "tcfg: unconditional prediction")
  if (c.dtype !== u.dtype || !sameShape(c.shape, u.shape) || c.rank < 1) {
    throw new PredictionShapeError(
      `tcfg: expected two predictions [batch, …] of one dtype and shape, found ${c.describe()} and ${u.describe()}.`,
    )
  }
  const f = Math.fround // preds.float()
  const batch = c.shape[0]!
  const n = batch === 0 ? 0 : c.size / batch
  const out = c.dtype === "float32" ? new Float32Array(c.size) : new Float64Array(c.size)
  for (let b = 0; b < batch; b++) {
    const start = b * n
    let cc = 0
    let cu = 0
    let uu = 0
    for (let i = start; i < start + n; i++) {
      const ci = f(c.data[i]!)
      const ui = f(u.data[i]!)
      cc += ci * ci
      cu += ci * ui
      uu += ui * ui
    }
    // Top eigenpair of [[cc, cu], [cu, uu]].
    const half = (cc - uu) / 2
    const lambda = (cc + uu) / 2 + Math.hypot(half, cu)
    if (!(lambda > 0)) continue // c = u = 0: u' = 0 (NaN inputs fall through to NaN below)
    // Two equivalent eigenvector formulas; take the better conditioned one.
    let a0 = cu
    let a1 = lambda - cc
    const b0 = lambda - uu
    const b1 = cu
    if (b0 * b0 + b1 * b1 > a0 * a0 + a1 * a1) {
      a0 = b0
      a1 = b1
    }
    if (a0 === 0 && a1 === 0) a0 = 1 // equal singular values: take c's direction
    const normSquared = a0 * a0 * cc + 2 * a0 * a1 * cu + a1 * a1 * uu // ‖a₀c + a₁u‖²
    const coefficient = normSquared > 0 ? (a0 * cu + a1 * uu) / normSquared : 0 // (u · w) / ‖w‖², w = a₀c + a₁u
    for (let i = start; i < start + n; i++) {
      out[i] = f(coefficient * (a0 * f(c.data[i]!) + a1 * f(u.data[i]!))) // x_Vh_V, then .to(cond_dtype)
    }
  }
  return new Tensor(c.dtype, out, c.shape) as FloatTensor
}

/**
 * The TCFG guided prediction: `u' + g(c − u')` (`c + g(c − u')` with the original formulation),
 * `u'` from {@link projectUncond}, in diffusers' op order (lines 147–149).
 */
export function tangentialGuidance(cond: Tensor, uncond: Tensor, scale: number, useOriginalFormulation: boolean): FloatTensor {
  const projected = projectUncond(cond, uncond)
  const c = cond as FloatTensor
  const round = roundingFor(c.dtype)
  const g = round(scale)
  const out = c.dtype === "float32" ? new Float32Array(c.size) : new Float64Array(c.size)
  for (let i = 0; i < out.length; i++) {
    const shift = round(c.data[i]! - projected.data[i]!) // shift = pred_cond - pred_uncond
    out[i] = (useOriginalFormulation ? c.data[i]! : projected.data[i]!) + round(g * shift)
  }
  return new Tensor(c.dtype, out, c.shape) as FloatTensor
}
