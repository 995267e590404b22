import { PredictionShapeError, asFloatTensor, roundingFor } from "@pagkit/guidance"
import type { FloatTensor } from "@pagkit/guidance"
import { Tensor, sameShape } from "@pagkit/tensor"

/** Inputs of {@link mamboGuidance} besides the two predictions. */
export interface MamboGuidanceOptions {
  /** guidance_scale `g`. */
  readonly scale: number
  /** alpha `α`: how fast the scale falls as the update grows relative to `u`. */
  readonly alpha: number
  /** `c + g_t(c − u)` with `g_t = g·e^{−α·r}` instead of `u + g_t(c − u)` with `g_t = 1 + (g − 1)e^{−α·r}`. */
  readonly useOriginalFormulation: boolean
}

/**
 * The per-sample MAMBO-G scale and guided prediction: `r = ‖c − u‖ / ‖u‖` (L2 over every non-batch
 * element), `g_t = 1 + (g − 1)·exp(−α·r)`, `u + g_t(c − u)` (original formulation: `g_t = g·exp(−α·r)`,
 * `c + g_t(c − u)`), in diffusers' op order and the predictions' dtype (norms accumulated in float64).
 * Returns the guided prediction and `g_t` per sample.
 *
 * Ported from diffusers `guiders/magnitude_aware_guidance.py` `mambo_guidance` (lines 148–159).
 *
 * @example
 * const { guided, scales } = mamboGuidance(noisePredText, noisePredUncond, { scale: 10, alpha: 8, useOriginalFormulation: false })
 */
export function mamboGuidance(cond: Tensor, uncond: Tensor, options: MamboGuidanceOptions): { guided: FloatTensor; scales: Float64Array } {
  const c = asFloatTensor(cond, "mambo: conditional prediction")
  const u = asFloatTensor(uncond, "mambo: unconditional prediction")
  if (c.dtype !== u.dtype || !sameShape(c.shape, u.shape) || c.rank < 1) {
    throw new PredictionShapeError(
      `mambo: expected two predictions [batch, …] of one dtype and shape, found ${c.describe()} and ${u.describe()}.`,
    )
  }
  const round = roundingFor(c.dtype)
  const batch = c.shape[0]!
  const n = batch === 0 ? 0 : c.size / batch
  const make = (): Float32Array | Float64Array => (c.dtype === "float32" ? new Float32Array(c.size) : new Float64Array(c.size))
  const diff = make()
  for (let i = 0; i < diff.length; i++) diff[i] = c.data[i]! - u.data[i]! // diff = pred_cond - pred_uncond
  const guided = make()
  const scales = new Float64Array(batch)
  const minusAlpha = round(-options.alpha)
  for (let b = 0; b < batch; b++) {
    let diffSquares = 0
    let uncondSquares = 0
    for (let i = b * n; i < (b + 1) * n; i++) {
      diffSquares += diff[i]! * diff[i]!
      uncondSquares += u.data[i]! * u.data[i]!
    }
    const ratio = round(round(Math.sqrt(diffSquares)) / round(Math.sqrt(uncondSquares))) // norm(diff) / norm(pred_uncond)
    const decay = round(Math.exp(round(minusAlpha * ratio))) // torch.exp(-alpha * ratio)
    const scale = options.useOriginalFormulation
      ? round(round(options.scale) * decay)
      : round(1 + round(round(options.scale - 1) * decay)) // 1.0 + (guidance_scale - 1.0) * exp(...)
    scales[b] = scale
    const base = options.useOriginalFormulation ? c.data : u.data
    for (let i = b * n; i < (b + 1) * n; i++) guided[i] = base[i]! + round(scale * diff[i]!) // pred + guidance_scale_final * diff
  }
  return { guided: new Tensor(c.dtype, guided, c.shape) as FloatTensor, scales }
}
