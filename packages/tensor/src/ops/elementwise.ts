import { ShapeError } from "../errors.js"
import { Tensor, sameShape } from "../tensor.js"
import { broadcastIndexMaps, broadcastShapes } from "./broadcast.js"
import { float32Data } from "./cast.js"

/** A tensor or a scalar operand. Scalars are rounded to float32 first, as torch does for a float32 tensor. */
export type Operand = Tensor | number

const fround = Math.fround

/** Applies `fn` to broadcast operands, float32 results. */
function combine(operands: readonly Operand[], fn: (values: Float64Array) => number, what: string): Tensor<"float32"> {
  const tensors = operands.filter((o): o is Tensor => typeof o !== "number")
  if (tensors.length === 0) throw new ShapeError(`${what}: expected at least one tensor operand, found only numbers.`)
  const shape = tensors.every((t) => sameShape(t.shape, tensors[0]!.shape))
    ? [...tensors[0]!.shape]
    : broadcastShapes(tensors.map((t) => t.shape), what)
  const maps = broadcastIndexMaps(tensors.map((t) => t.shape), shape)
  const datas = tensors.map(float32Data)
  const sources = operands.map((o) => (typeof o === "number" ? -1 : tensors.indexOf(o)))
  const scalars = operands.map((o) => (typeof o === "number" ? fround(o) : 0))
  const size = shape.reduce((n, d) => n * d, 1)
  const out = new Float32Array(size)
  const values = new Float64Array(operands.length)
  for (let i = 0; i < size; i++) {
    for (let k = 0; k < operands.length; k++) {
      const source = sources[k]!
      if (source < 0) values[k] = scalars[k]!
      else values[k] = datas[source]![maps[source]?.[i] ?? i]!
    }
    out[i] = fn(values)
  }
  return new Tensor("float32", out, shape)
}

/** Fast path: `a` and `b` of the same shape (or `b` a scalar), float32 math. */
function binary(a: Tensor, b: Operand, fn: (x: number, y: number) => number, what: string): Tensor<"float32"> {
  const left = float32Data(a)
  if (typeof b === "number") {
    const scalar = fround(b)
    const out = new Float32Array(left.length)
    for (let i = 0; i < out.length; i++) out[i] = fn(left[i]!, scalar)
    return new Tensor("float32", out, a.shape)
  }
  if (sameShape(a.shape, b.shape)) {
    const right = float32Data(b)
    const out = new Float32Array(left.length)
    for (let i = 0; i < out.length; i++) out[i] = fn(left[i]!, right[i]!)
    return new Tensor("float32", out, a.shape)
  }
  return combine([a, b], (v) => fn(v[0]!, v[1]!), what)
}

/**
 * `a + b` with numpy broadcasting (float32 result).
 *
 * @example
 * add(latents, noise) // same shapes
 * add(x, 1)           // scalar
 */
export function add(a: Tensor, b: Operand): Tensor<"float32"> {
  return binary(a, b, (x, y) => x + y, "add")
}

/** `a - b` with broadcasting. */
export function sub(a: Tensor, b: Operand): Tensor<"float32"> {
  return binary(a, b, (x, y) => x - y, "sub")
}

/** `a * b` with broadcasting. */
export function mul(a: Tensor, b: Operand): Tensor<"float32"> {
  return binary(a, b, (x, y) => x * y, "mul")
}

/** `a / b` with broadcasting (IEEE: division by zero gives ±inf or NaN). */
export function div(a: Tensor, b: Operand): Tensor<"float32"> {
  return binary(a, b, (x, y) => x / y, "div")
}

/** `a * s` for a scalar `s`. */
export function scale(a: Tensor, s: number): Tensor<"float32"> {
  return binary(a, s, (x, y) => x * y, "scale")
}

/**
 * `alpha * x + y`, the product rounded to float32 before the sum (like torch's `y + alpha * x`).
 * `y` may broadcast against `x`.
 */
export function axpy(alpha: number, x: Tensor, y: Operand): Tensor<"float32"> {
  const a = fround(alpha)
  return binary(x, y, (xv, yv) => fround(a * xv) + yv, "axpy")
}

/**
 * `a + w * (b - a)` (each step rounded to float32), the classifier-free guidance formula.
 * `w` may be a number or a tensor; all three broadcast. Not torch.lerp's two-branch formula.
 *
 * @example
 * lerp(noisePredUncond, noisePredText, guidanceScale)
 */
export function lerp(a: Tensor, b: Tensor, w: Operand): Tensor<"float32"> {
  if (typeof w === "number" && sameShape(a.shape, b.shape)) {
    const weight = fround(w)
    const from = float32Data(a)
    const to = float32Data(b)
    const out = new Float32Array(from.length)
    for (let i = 0; i < out.length; i++) out[i] = from[i]! + fround(weight * fround(to[i]! - from[i]!))
    return new Tensor("float32", out, a.shape)
  }
  return combine([a, b, w], (v) => v[0]! + fround(v[2]! * fround(v[1]! - v[0]!)), "lerp")
}

/** Clamps every value into `[min, max]` (pass `-Infinity`/`Infinity` for one-sided). NaN stays NaN. */
export function clamp(a: Tensor, min: number, max: number): Tensor<"float32"> {
  if (min > max) throw new ShapeError(`clamp: min ${min} is greater than max ${max}. Pass min <= max.`)
  const lo = fround(min)
  const hi = fround(max)
  return binary(a, 0, (x) => (x < lo ? lo : x > hi ? hi : x), "clamp")
}

/** A condition for {@link where}: a tensor (non-zero = true) or a predicate over the two candidate values. */
export type Condition = Tensor | ((a: number, b: number) => boolean)

/**
 * Picks `a` where the condition holds, else `b`, with broadcasting over all operands.
 *
 * @example
 * where(mask, original, denoised) // mask: uint8 [1, 1, h, w]
 * where((x, y) => x > y, a, b)    // element-wise maximum
 */
export function where(condition: Condition, a: Operand, b: Operand): Tensor<"float32"> {
  if (typeof condition === "function") {
    return combine([a, b], (v) => (condition(v[0]!, v[1]!) ? v[0]! : v[1]!), "where")
  }
  return combine([condition, a, b], (v) => (v[0]! !== 0 ? v[1]! : v[2]!), "where")
}

/** Applies `fn` to every element (float32 result); `fn` gets the value and its flat index. */
export function map(t: Tensor, fn: (value: number, index: number) => number): Tensor<"float32"> {
  const data = float32Data(t)
  const out = new Float32Array(data.length)
  for (let i = 0; i < out.length; i++) out[i] = fn(data[i]!, i)
  return new Tensor("float32", out, t.shape)
}
