import type { FloatTensor } from "@pagkit/guidance"

/**
 * Unbiased standard deviation (divides by N − 1) of each sample over every non-batch dim,
 * accumulated in double like torch's CPU `std` for float32, returned per sample.
 * Ported from diffusers `rescale_noise_cfg`'s `x.std(dim=list(range(1, x.ndim)))`.
 */
export function stdPerSample(x: FloatTensor): Float64Array {
  const batch = x.shape[0] ?? 1
  const perSample = batch === 0 ? 0 : x.size / batch
  const result = new Float64Array(batch)
  const data = x.data
  for (let b = 0; b < batch; b++) {
    const start = b * perSample
    let sum = 0
    for (let i = 0; i < perSample; i++) sum += data[start + i]!
    const mean = sum / perSample
    let squares = 0
    for (let i = 0; i < perSample; i++) {
      const d = data[start + i]! - mean
      squares += d * d
    }
    result[b] = Math.sqrt(squares / (perSample - 1))
  }
  return result
}
