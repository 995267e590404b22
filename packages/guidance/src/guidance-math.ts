import { Tensor, sameShape } from "@pagkit/tensor"
import { PredictionShapeError } from "./errors.js"

/** Float dtypes guidance arithmetic accepts. */
export type GuidanceDType = "float32" | "float64"

/** A float32 or float64 tensor: what a denoiser's predictions are. */
export type FloatTensor = Tensor<"float32"> | Tensor<"float64">

const identity = (x: number): number => x

/** Checks a prediction is float32/float64 and returns it narrowed. */
export function asFloatTensor(x: Tensor, what = "prediction"): FloatTensor {
  if (x.dtype !== "float32" && x.dtype !== "float64") {
    throw new PredictionShapeError(
      `${what} has dtype ${x.dtype}; guidance arithmetic expects float32 or float64. Cast the denoiser output (e.g. float16 → float32) before combining.`,
    )
  }
  return x as FloatTensor
}

/** Rounding of one arithmetic result to the tensor's dtype: float32 ops round each step, as torch does. */
export function roundingFor(dtype: GuidanceDType): (x: number) => number {
  return dtype === "float32" ? Math.fround : identity
}

function checkPair(a: FloatTensor, b: FloatTensor, what: string): void {
  if (a.dtype !== b.dtype || !sameShape(a.shape, b.shape)) {
    throw new PredictionShapeError(
      `${what}: expected two predictions of the same dtype and shape, found ${a.describe()} and ${b.describe()}. ` +
        `Every branch must come from the same denoiser output.`,
    )
  }
}

function empty(like: FloatTensor): FloatTensor {
  return Tensor.zeros(like.shape, like.dtype) as FloatTensor
}

/**
 * `scale · (a − b)`, elementwise, rounded per operation in the tensors' dtype like torch's
 * `scale * (a - b)` (the scale is rounded to float32 first for float32 tensors).
 *
 * @example
 * const cfgTerm = scaledDifference(5, noisePredText, noisePredUncond) // 5·(c − u)
 */
export function scaledDifference(scale: number, a: Tensor, b: Tensor): FloatTensor {
  const left = asFloatTensor(a)
  const right = asFloatTensor(b)
  checkPair(left, right, "scaledDifference")
  const round = roundingFor(left.dtype)
  const s = round(scale)
  const out = empty(left)
  const x = left.data
  const y = right.data
  const o = out.data
  for (let i = 0; i < o.length; i++) o[i] = round(s * round(x[i]! - y[i]!))
  return out
}

/** `a + b`, elementwise, rounded in the tensors' dtype. */
export function addPredictions(a: Tensor, b: Tensor): FloatTensor {
  const left = asFloatTensor(a)
  const right = asFloatTensor(b)
  checkPair(left, right, "addPredictions")
  const out = empty(left)
  const x = left.data
  const y = right.data
  const o = out.data
  // Float32Array stores round once; the sum of two floats in double is exact before that rounding.
  for (let i = 0; i < o.length; i++) o[i] = x[i]! + y[i]!
  return out
}

/** `scale · x`, elementwise, rounded in the tensor's dtype (scale rounded to float32 for float32 tensors). */
export function scalePrediction(x: Tensor, scale: number): FloatTensor {
  const input = asFloatTensor(x)
  const s = roundingFor(input.dtype)(scale)
  const out = empty(input)
  const v = input.data
  const o = out.data
  for (let i = 0; i < o.length; i++) o[i] = s * v[i]!
  return out
}
