// Per-batch-row coefficients, as diffusers broadcasts a `[batch]` tensor of timesteps over latents.
import { Tensor } from "@pagkit/tensor"
import { SchedulerArgumentError } from "../errors.js"

/** Expands one coefficient per batch row (or a single one) to a per-element lookup. */
export function perRow(coefficients: readonly number[], batch: number, what: string): (row: number) => number {
  if (coefficients.length !== 1 && coefficients.length !== batch) {
    throw new SchedulerArgumentError(
      `${what}: expected 1 or ${batch} timesteps (one per batch row), found ${coefficients.length}.`,
    )
  }
  return (row) => coefficients[coefficients.length === 1 ? 0 : row]!
}

/** `a[row] · original + b[row] · noise`, the shape of every `add_noise`. */
export function mixPerRow(
  original: Tensor<"float32">,
  noise: Tensor<"float32">,
  coefficients: { readonly original: readonly number[]; readonly noise: readonly number[]; readonly what: string },
): Tensor<"float32"> {
  if (original.data.length !== noise.data.length) {
    throw new SchedulerArgumentError(
      `${coefficients.what}: noise should have the shape of the samples [${original.shape.join(", ")}], found [${noise.shape.join(", ")}].`,
    )
  }
  const batch = original.shape[0] ?? 1
  const rowSize = original.data.length / Math.max(batch, 1)
  const a = perRow(coefficients.original, batch, coefficients.what)
  const b = perRow(coefficients.noise, batch, coefficients.what)
  const out = new Float32Array(original.data.length)
  for (let i = 0; i < out.length; i++) {
    const row = Math.floor(i / rowSize)
    out[i] = a(row) * original.data[i]! + b(row) * noise.data[i]!
  }
  return new Tensor("float32", out, original.shape)
}
