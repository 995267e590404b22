// Elementwise float32 math on latents, shared by the scheduler classes (no @pagkit/tensor ops needed).
import { Tensor, TorchGenerator } from "@pagkit/tensor"
import type { Shape } from "@pagkit/tensor"
import { SchedulerArgumentError } from "../errors.js"

/** One term `coefficient · tensor` of a {@link linearCombination}. */
export type Term = readonly [coefficient: number, values: Float32Array]

/** `Σ cₖ · xₖ` elementwise (accumulated in float64, stored float32), shaped like `shape`. */
export function linearCombination(shape: Shape, terms: readonly Term[]): Tensor<"float32"> {
  const size = terms[0]?.[1].length ?? 0
  for (const [, x] of terms) {
    if (x.length !== size) {
      throw new SchedulerArgumentError(
        `Tensors of a step should have ${size} elements each, found one with ${x.length}.`,
      )
    }
  }
  const out = new Float32Array(size)
  for (let i = 0; i < size; i++) {
    let acc = 0
    for (const [c, x] of terms) acc += c * x[i]!
    out[i] = acc
  }
  return new Tensor("float32", out, shape)
}

/** `x.clamp(-range, range)`. */
export function clampTensor(x: Tensor<"float32">, range: number): Tensor<"float32"> {
  return new Tensor(
    "float32",
    x.data.map((v) => Math.min(Math.max(v, -range), range)),
    x.shape,
  )
}

/** `torch.quantile(values, q)` with linear interpolation (values are copied and sorted). */
export function quantile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values as ArrayLike<number>).sort()
  const pos = q * (sorted.length - 1)
  const lo = Math.floor(pos)
  const hi = Math.min(lo + 1, sorted.length - 1)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo)
}

/**
 * `_threshold_sample` (dynamic thresholding, Imagen): per batch row, `s = clamp(quantile(|x|, ratio), 1, max)`,
 * then `clamp(x, -s, s) / s`. Ported from diffusers `scheduling_ddpm.py` `DDPMScheduler._threshold_sample`.
 */
export function thresholdSample(x: Tensor<"float32">, ratio: number, sampleMaxValue: number): Tensor<"float32"> {
  const batch = x.shape[0] ?? 1
  const rowSize = x.data.length / batch
  const out = new Float32Array(x.data.length)
  for (let b = 0; b < batch; b++) {
    const row = x.data.subarray(b * rowSize, (b + 1) * rowSize)
    const s = Math.fround(Math.min(Math.max(quantile(row.map(Math.abs), ratio), 1), sampleMaxValue))
    for (let i = 0; i < rowSize; i++) out[b * rowSize + i] = Math.min(Math.max(row[i]!, -s), s) / s
  }
  return new Tensor("float32", out, x.shape)
}

/**
 * `randn_tensor(shape, generator)`: one float32 draw from the step's generator. Without one, a randomly seeded
 * generator stands in for torch's global RNG (non-reproducible, as in diffusers).
 */
export function drawNoise(shape: Shape, generator: TorchGenerator | undefined): Float32Array {
  const source = generator ?? new TorchGenerator(Math.floor(Math.random() * 2 ** 52))
  const noise = source.randn(shape)
  return noise.data instanceof Float32Array ? noise.data : Float32Array.from(noise.data as ArrayLike<number>)
}

/** Throws unless the model output has the sample's number of elements. */
export function checkStepInputs(className: string, modelOutput: Tensor<"float32">, sample: Tensor<"float32">): void {
  if (modelOutput.data.length !== sample.data.length) {
    throw new SchedulerArgumentError(
      `${className}.step: the model output [${modelOutput.shape.join(", ")}] should have the shape of the sample [${sample.shape.join(", ")}]. Pass the model's prediction for this sample.`,
    )
  }
}

/** A float32 tensor of `shape` whose element i is `value(i)` (for formulas linear combinations cannot express). */
export function elementwise(shape: Shape, size: number, value: (i: number) => number): Tensor<"float32"> {
  const out = new Float32Array(size)
  for (let i = 0; i < size; i++) out[i] = value(i)
  return new Tensor("float32", out, shape)
}
