// What the pickle describes about a tensor, before any of its bytes are read.

/** Element types of torch storages this reader decodes. */
export type TorchDType = "float64" | "float32" | "float16" | "bfloat16" | "int64" | "int32" | "int16" | "int8" | "uint8" | "bool"

/** Bytes per element of each {@link TorchDType}. */
export const TORCH_DTYPE_SIZE: Readonly<Record<TorchDType, number>> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
}

/** One storage record of the archive (`<name>/data/<key>`), as a persistent id names it. */
export interface TorchStorageRef {
  /** Record name under `data/`. */
  readonly key: string
  /** Element type the storage class names (`torch.FloatStorage` → float32; `UntypedStorage` → uint8). */
  readonly dtype: TorchDType
  /** Elements of `dtype` the pickle says the storage holds. */
  readonly numel: number
  /** Device it was saved from (`"cpu"`, `"cuda:0"`); informational, everything is read to the CPU. */
  readonly location: string
}

/**
 * A tensor as the pickle describes it: a strided view of a storage (`torch._utils._rebuild_tensor_v2`). Read it
 * with {@link TorchCheckpoint.readTensor}; views that share a storage share its record.
 */
export interface TorchTensorRef {
  readonly kind: "torch-tensor"
  readonly storage: TorchStorageRef
  /** Element type of the tensor (the storage's, or the one `_rebuild_tensor_v3` names over an untyped storage). */
  readonly dtype: TorchDType
  /** Offset into the storage, in elements of `dtype`. */
  readonly storageOffset: number
  readonly shape: readonly number[]
  /** Strides in elements of `dtype`. */
  readonly stride: readonly number[]
  readonly requiresGrad: boolean
}

/** True for the tensor leaves of a parsed checkpoint. */
export function isTorchTensorRef(value: unknown): value is TorchTensorRef {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "torch-tensor"
}
