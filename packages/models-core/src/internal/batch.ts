// Small dtype guard shared by the session wrappers.
import type { Tensor } from "@pagkit/tensor"
import { ModelInputError } from "../errors.js"

/** Asserts a float32 tensor (sessions return float32 unless told otherwise). */
export function asFloat32(t: Tensor, what: string): Tensor<"float32"> {
  if (t.dtype !== "float32") throw new ModelInputError(`${what} should be float32, found ${t.describe()}.`)
  return t as Tensor<"float32">
}
