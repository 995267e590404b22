import type * as ort from "onnxruntime-node"

/** Element type of a model input or output, as onnxruntime names it (`"float32"`, `"int64"`, `"float16"`, …). */
export type ElementType = ort.Tensor.Type

/** Name, element type and (possibly symbolic) shape of one model input or output. */
export interface IoInfo {
  readonly name: string
  /** Element type; `undefined` for non-tensor values (sequences, maps). */
  readonly dtype: ElementType | undefined
  /** Dimensions: numbers for fixed sizes, strings for symbolic ones (`"batch"`). */
  readonly shape: readonly (number | string)[]
}

/** Converts onnxruntime's value metadata to {@link IoInfo}. */
export function toIoInfo(meta: ort.InferenceSession.ValueMetadata): IoInfo {
  if (!meta.isTensor) return Object.freeze({ name: meta.name, dtype: undefined, shape: Object.freeze([]) })
  return Object.freeze({ name: meta.name, dtype: meta.type, shape: Object.freeze([...meta.shape]) })
}

/** `float32[batch, 4, 16, 16]`, for messages. */
export function describeIo(info: IoInfo): string {
  return `${info.dtype ?? "non-tensor"}[${info.shape.join(", ")}]`
}
