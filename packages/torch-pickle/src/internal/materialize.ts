// Turns the bytes of a storage span into a dense, row-major @pagkit/tensor Tensor, honouring the view's offset and
// strides (torch `as_strided` semantics: element i of the view is storage[offset + Σ index_k · stride_k]).
import { Tensor } from "@pagkit/tensor"
import type { TorchDType, TorchTensorRef } from "../torch-tensor-ref.js"
import { TORCH_DTYPE_SIZE } from "../torch-tensor-ref.js"

type Source = Float64Array | Float32Array | Uint16Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array

function sourceView(dtype: TorchDType, buffer: ArrayBuffer, length: number): Source {
  switch (dtype) {
    case "float64": return new Float64Array(buffer, 0, length)
    case "float32": return new Float32Array(buffer, 0, length)
    case "float16":
    case "bfloat16": return new Uint16Array(buffer, 0, length)
    case "int64": return new BigInt64Array(buffer, 0, length)
    case "int32": return new Int32Array(buffer, 0, length)
    case "int16": return new Int16Array(buffer, 0, length)
    case "int8": return new Int8Array(buffer, 0, length)
    case "uint8":
    case "bool": return new Uint8Array(buffer, 0, length)
  }
}

/** Element range `[start, end)` of the storage a view touches. */
export function viewSpan(ref: TorchTensorRef): { start: number; end: number } {
  if (ref.shape.some((d) => d === 0)) return { start: ref.storageOffset, end: ref.storageOffset }
  const last = ref.shape.reduce((acc, d, i) => acc + (d - 1) * ref.stride[i]!, ref.storageOffset)
  return { start: ref.storageOffset, end: last + 1 }
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false
    expected *= shape[i]!
  }
  return true
}

/** Copies the view's elements in row-major order (source indices relative to the span start). */
function gather<T extends { length: number; [i: number]: unknown }>(source: T, target: T, shape: readonly number[], stride: readonly number[]): void {
  const rank = shape.length
  const count = target.length
  if (count === 0) return
  const index = new Array<number>(rank).fill(0)
  let at = 0
  for (let i = 0; i < count; i++) {
    target[i] = source[at]
    for (let k = rank - 1; k >= 0; k--) {
      index[k]!++
      at += stride[k]!
      if (index[k]! < shape[k]!) break
      at -= shape[k]! * stride[k]!
      index[k] = 0
    }
  }
}

function swapBytes(bytes: Uint8Array, size: number): void {
  for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse()
}

/**
 * Builds the tensor of a view from the bytes of its span (as {@link viewSpan} gives, read into a fresh buffer).
 * bfloat16 becomes float32 (exact), int16/int8 widen to int32, bool becomes uint8.
 */
export function materializeView(ref: TorchTensorRef, span: Uint8Array, bigEndian: boolean): Tensor {
  const size = TORCH_DTYPE_SIZE[ref.dtype]
  if (bigEndian && size > 1) swapBytes(span, size)
  const source = sourceView(ref.dtype, span.buffer as ArrayBuffer, span.byteLength / size)
  const numel = ref.shape.reduce((a, b) => a * b, 1)
  let dense: Source
  if (isContiguous(ref.shape, ref.stride)) dense = source.subarray(0, numel) as Source
  else {
    dense = new (source.constructor as new (n: number) => Source)(numel)
    gather(source as unknown as { length: number; [i: number]: unknown }, dense as unknown as { length: number; [i: number]: unknown }, ref.shape, ref.stride)
  }
  const shape = [...ref.shape]
  switch (ref.dtype) {
    case "float64": return new Tensor("float64", dense as Float64Array, shape)
    case "float32": return new Tensor("float32", dense as Float32Array, shape)
    case "float16": return new Tensor("float16", dense as Uint16Array, shape)
    case "bfloat16": {
      const halves = dense as Uint16Array
      const bits = new Uint32Array(numel)
      for (let i = 0; i < numel; i++) bits[i] = halves[i]! << 16
      return new Tensor("float32", new Float32Array(bits.buffer), shape)
    }
    case "int64": return new Tensor("int64", dense as BigInt64Array, shape)
    case "int32": return new Tensor("int32", dense as Int32Array, shape)
    case "int16":
    case "int8": return new Tensor("int32", Int32Array.from(dense as Int16Array), shape)
    case "uint8":
    case "bool": return new Tensor("uint8", dense as Uint8Array, shape)
  }
}
