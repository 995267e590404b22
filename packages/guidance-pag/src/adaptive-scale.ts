/**
 * PAG's scale at a timestep: `s_t = max(0, s − a·(1000 − t))`; `s` unchanged when `a` is 0.
 * Ported from diffusers `pipelines/pag/pag_utils.py` `PAGMixin._get_pag_scale`. There `t` is a
 * tensor, so the adaptive expression is evaluated in float32; this does the same.
 *
 * @example
 * adaptivePagScale(3, 0.005, 801) // 3 − 0.005·199 ≈ 2.005
 */
export function adaptivePagScale(scale: number, adaptiveScale: number, timestep: number): number {
  if (adaptiveScale <= 0) return scale
  const f = Math.fround
  const signalScale = f(f(scale) - f(f(adaptiveScale) * f(1000 - timestep)))
  return signalScale < 0 ? 0 : signalScale
}
