// The token-space Gaussian blur of Smoothed Energy Guidance as a matrix: one axis of SEG-SDXL's gaussian_blur_2d.
// Reference: SusungHong/SEG-SDXL pipeline_seg.py gaussian_blur_2d and SEGCFGSelfAttnProcessor (kernel size
// ceil(6σ) + 1 − ceil(6σ) mod 2, clamped to the grid; kernel = normalised exp(−x²/2σ²) on linspace(−(k−1)/2, (k−1)/2);
// reflect padding of k // 2; σ above the threshold: every query is the mean of all queries).

/** Options of {@link gaussianBlurOperator}. */
export interface GaussianBlurOptions {
  /** σ above this means "infinite blur": the mean over the axis. Default 9999999 (diffusers' `seg_blur_threshold_inf`). */
  readonly blurThresholdInf?: number
}

/** Kernel size of SEG for a σ, before clamping: `ceil(6σ) + 1 − (ceil(6σ) mod 2)` (always odd). */
export function segKernelSize(sigma: number): number {
  const c = Math.ceil(6 * sigma)
  return c + 1 - (c % 2)
}

function reflect(index: number, size: number): number {
  if (size === 1) return 0
  let i = index
  while (i < 0 || i >= size) i = i < 0 ? -i : 2 * (size - 1) - i
  return i
}

/**
 * The `[size, size]` matrix `B` (row-major float32) with `blurred[i] = Σ_j B[i, j]·x[j]` along one axis of a token
 * grid: a Gaussian of `sigma` with reflect padding, exactly as SEG's `gaussian_blur_2d` applies it per axis (its
 * 2-D kernel is the outer product of this 1-D kernel). The kernel is clamped to the axis as the reference clamps it
 * (`min(k, size − (size mod 2 − 1))`, per axis here so non-square grids work; equal to the reference on square
 * ones), which keeps the padding inside the grid. `sigma > blurThresholdInf`: the mean operator `1/size`.
 * `sigma <= 0` (the reference's kernel would be NaN): the identity, i.e. no blur.
 *
 * @example
 * gaussianBlurOperator(32, 10) // Float32Array(1024): rows sum to 1
 */
export function gaussianBlurOperator(size: number, sigma: number, options: GaussianBlurOptions = {}): Float32Array {
  const matrix = new Float32Array(size * size)
  if (sigma > (options.blurThresholdInf ?? 9999999)) return matrix.fill(1 / size)
  if (!(sigma > 0)) {
    for (let i = 0; i < size; i++) matrix[i * size + i] = 1
    return matrix
  }
  const kernelSize = Math.min(segKernelSize(sigma), size - ((size % 2) - 1))
  const half = (kernelSize - 1) / 2
  const pdf = Array.from({ length: kernelSize }, (_, t) => Math.exp(-0.5 * ((t - half) / sigma) ** 2))
  const total = pdf.reduce((a, b) => a + b, 0)
  const pad = Math.floor(kernelSize / 2)
  const rows = new Float64Array(size * size)
  for (let i = 0; i < size; i++) {
    for (let t = 0; t < kernelSize; t++) rows[i * size + reflect(i - pad + t, size)]! += pdf[t]! / total
  }
  matrix.set(rows)
  return matrix
}
