import { PredictionShapeError, asFloatTensor, roundingFor } from "@pagkit/guidance"
import type { FloatTensor } from "@pagkit/guidance"
import { Tensor, sameShape } from "@pagkit/tensor"

/**
 * CFG-Zero*'s optimized scale per sample: `α = ⟨c, u⟩ / (‖u‖² + 1e-8)` over every non-batch
 * element, in the predictions' dtype (sums accumulated in float64, rounded once). Returns `[batch]`.
 *
 * Ported from diffusers `guiders/classifier_free_zero_star_guidance.py` `cfg_zero_star_scale`
 * (the paper's `optimized_scale`, WeichenFan/CFG-Zero-star).
 *
 * @example
 * const alpha = cfgZeroStarScale(noisePredText, noisePredUncond) // Float32Array [batch]
 */
export function cfgZeroStarScale(cond: Tensor, uncond: Tensor, eps = 1e-8): Float32Array | Float64Array {
  const c = asFloatTensor(cond, "cfgZeroStar: conditional prediction")
  const u = asFloatTensor(uncond, "cfgZeroStar: unconditional prediction")
  if (c.dtype !== u.dtype || !sameShape(c.shape, u.shape) || c.rank < 1) {
    throw new PredictionShapeError(
      `cfgZeroStarScale: expected two predictions [batch, …] of one dtype and shape, found ${c.describe()} and ${u.describe()}.`,
    )
  }
  const round = roundingFor(c.dtype)
  const batch = c.shape[0]!
  const perSample = batch === 0 ? 0 : c.size / batch
  const alpha = c.dtype === "float32" ? new Float32Array(batch) : new Float64Array(batch)
  for (let b = 0; b < batch; b++) {
    let dot = 0
    let squares = 0
    for (let i = b * perSample; i < (b + 1) * perSample; i++) {
      dot += round(c.data[i]! * u.data[i]!) // torch.sum(cond * uncond, dim=1)
      squares += round(u.data[i]! * u.data[i]!) // torch.sum(uncond ** 2, dim=1)
    }
    const squaredNorm = round(round(squares) + round(eps)) // + eps
    alpha[b] = round(dot) / squaredNorm // dot_product / squared_norm
  }
  return alpha
}

/**
 * The CFG-Zero* guided prediction (no zero-init): `u' = α·u`, then `u' + g(c − u')`
 * (`c + g(c − u')` with the original formulation), in diffusers' op order.
 *
 * Ported from diffusers `ClassifierFreeZeroStarGuidance.forward` (lines 112–119).
 */
export function cfgZeroStarGuidance(cond: Tensor, uncond: Tensor, scale: number, useOriginalFormulation: boolean): FloatTensor {
  const alpha = cfgZeroStarScale(cond, uncond)
  const c = cond as FloatTensor
  const u = uncond as FloatTensor
  const round = roundingFor(c.dtype)
  const g = round(scale)
  const batch = c.shape[0]!
  const perSample = batch === 0 ? 0 : c.size / batch
  const out = c.dtype === "float32" ? new Float32Array(c.size) : new Float64Array(c.size)
  for (let b = 0; b < batch; b++) {
    const a = alpha[b]!
    for (let i = b * perSample; i < (b + 1) * perSample; i++) {
      const uncondStar = round(u.data[i]! * a) // pred_uncond = pred_uncond * alpha
      const shift = round(c.data[i]! - uncondStar) // shift = pred_cond - pred_uncond
      out[i] = (useOriginalFormulation ? c.data[i]! : uncondStar) + round(g * shift) // pred + guidance_scale * shift
    }
  }
  return new Tensor(c.dtype, out, c.shape) as FloatTensor
}
