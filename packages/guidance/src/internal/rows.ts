import { Tensor } from "@pagkit/tensor"
import type { DType, DataTypeMap } from "@pagkit/tensor"

/**
 * Rows `[start, start + count)` along axis 0, copied: predictions (and a guided result that is
 * just `c`) must not alias a denoiser output buffer that a runtime may reuse.
 */
export function sliceRows<D extends DType>(tensor: Tensor<D>, start: number, count: number): Tensor<D> {
  const rowSize = tensor.shape.slice(1).reduce((n, d) => n * d, 1)
  const data = (tensor.data as Float32Array).slice(start * rowSize, (start + count) * rowSize) as unknown as DataTypeMap[D]
  return new Tensor(tensor.dtype, data, [count, ...tensor.shape.slice(1)])
}
