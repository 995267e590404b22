import { asFloatTensor, roundingFor } from "@pagkit/guidance"
import type { FloatTensor } from "@pagkit/guidance"
import { rescaleNoiseCfg } from "@pagkit/guidance-cfg"
import { Tensor } from "@pagkit/tensor"
import { buildImageFromPyramid, buildLaplacianPyramid } from "./laplacian-pyramid.js"

/**
 * Splits `v0` into parts parallel and orthogonal to `v1`, per sample over every non-batch element:
 * `v1' = v1 / max(‖v1‖, 1e-12)`, `parallel = (v0 · v1') v1'`, `orthogonal = v0 − parallel`. With
 * `upcastToDouble` the work is done in float64 and cast back (diffusers' default); otherwise every
 * op rounds in the tensors' dtype.
 *
 * Ported from diffusers `guiders/frequency_decoupled_guidance.py` `project` (FDG paper, Algorithm 2).
 */
export function project(v0: Tensor, v1: Tensor, upcastToDouble: boolean): [parallel: FloatTensor, orthogonal: FloatTensor] {
  const a = asFloatTensor(v0)
  const b = asFloatTensor(v1)
  const round = upcastToDouble ? (x: number) => x : roundingFor(a.dtype)
  const cast = roundingFor(a.dtype)
  const batch = a.shape[0]!
  const n = batch === 0 ? 0 : a.size / batch
  const make = (): Float32Array | Float64Array => (a.dtype === "float32" ? new Float32Array(a.size) : new Float64Array(a.size))
  const parallel = make()
  const orthogonal = make()
  for (let s = 0; s < batch; s++) {
    let squares = 0
    for (let i = s * n; i < (s + 1) * n; i++) squares += b.data[i]! * b.data[i]!
    const norm = Math.max(round(Math.sqrt(squares)), 1e-12) // F.normalize: x / norm.clamp_min(eps)
    let dot = 0
    for (let i = s * n; i < (s + 1) * n; i++) dot += round(a.data[i]! * round(b.data[i]! / norm))
    dot = round(dot)
    for (let i = s * n; i < (s + 1) * n; i++) {
      const p = round(dot * round(b.data[i]! / norm))
      parallel[i] = cast(p)
      orthogonal[i] = cast(round(a.data[i]! - p))
    }
  }
  return [new Tensor(a.dtype, parallel, a.shape) as FloatTensor, new Tensor(a.dtype, orthogonal, a.shape) as FloatTensor]
}

/** Per-level settings of {@link frequencyDecoupledGuidance}, finest (highest-frequency) level first. */
export interface FdgLevelsOptions {
  /** guidance_scales, one per level. */
  readonly scales: readonly number[]
  /** parallel_weights, one per level (1 = plain CFG shift). */
  readonly parallelWeights: readonly number[]
  /** guidance_rescale per level, used here only when `rescaleSpace` is `"freq"`. */
  readonly rescale: readonly number[]
  readonly rescaleSpace: "data" | "freq"
  readonly useOriginalFormulation: boolean
  readonly upcastToDouble: boolean
  /** Which levels guide this step (the others keep the conditional level). */
  readonly activeLevels: readonly boolean[]
}

const isClose = (a: number, b: number): boolean => a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b))

/**
 * Frequency-Decoupled Guidance for one step (without the data-space rescale): both predictions go
 * through a Laplacian pyramid; each active level gets its own CFG update
 * `u_l + g_l·shift_l` (`c_l + …` with the original formulation), where `shift_l = c_l − u_l`, or
 * `w_l·parallel + orthogonal` of it relative to `c_l` when the level's parallel weight is not 1;
 * inactive levels keep `c_l`; the image is rebuilt from the guided pyramid.
 *
 * Ported from diffusers `guiders/frequency_decoupled_guidance.py` `FrequencyDecoupledGuidance.forward`
 * (lines 247–281), with kornia's pyramid (see `buildLaplacianPyramid`).
 *
 * @example
 * const guided = frequencyDecoupledGuidance(c, u, { scales: [10, 5], parallelWeights: [1, 1], rescale: [0, 0],
 *   rescaleSpace: "data", useOriginalFormulation: false, upcastToDouble: true, activeLevels: [true, true] })
 */
export function frequencyDecoupledGuidance(cond: Tensor, uncond: Tensor, options: FdgLevelsOptions): FloatTensor {
  const levels = options.scales.length
  const condPyramid = buildLaplacianPyramid(cond, levels)
  const uncondPyramid = buildLaplacianPyramid(uncond, levels)
  const guidedPyramid: FloatTensor[] = []
  for (let level = 0; level < levels; level++) {
    const condFreq = condPyramid.levels[level]!
    const uncondFreq = uncondPyramid.levels[level]!
    if (!options.activeLevels[level]) {
      guidedPyramid.push(condFreq)
      continue
    }
    const round = roundingFor(condFreq.dtype)
    const size = condFreq.size
    let shift: Float32Array | Float64Array = condFreq.dtype === "float32" ? new Float32Array(size) : new Float64Array(size)
    for (let i = 0; i < size; i++) shift[i] = condFreq.data[i]! - uncondFreq.data[i]! // shift = pred_cond_freq - pred_uncond_freq
    const weight = options.parallelWeights[level]!
    if (!isClose(weight, 1)) {
      const [parallel, orthogonal] = project(new Tensor(condFreq.dtype, shift, condFreq.shape), condFreq, options.upcastToDouble)
      const w = round(weight)
      const weighted = condFreq.dtype === "float32" ? new Float32Array(size) : new Float64Array(size)
      for (let i = 0; i < size; i++) weighted[i] = round(w * parallel.data[i]!) + orthogonal.data[i]! // parallel_weight * shift_parallel + shift_orthogonal
      shift = weighted
    }
    const g = round(options.scales[level]!)
    const base = options.useOriginalFormulation ? condFreq.data : uncondFreq.data
    const pred = condFreq.dtype === "float32" ? new Float32Array(size) : new Float64Array(size)
    for (let i = 0; i < size; i++) pred[i] = base[i]! + round(g * shift[i]!) // pred + guidance_scale * shift
    let guided = new Tensor(condFreq.dtype, pred, condFreq.shape) as FloatTensor
    const rescale = options.rescale[level]!
    if (options.rescaleSpace === "freq" && rescale > 0) guided = rescaleNoiseCfg(guided, condFreq, rescale)
    guidedPyramid.push(guided)
  }
  return buildImageFromPyramid(guidedPyramid, condPyramid.size)
}
