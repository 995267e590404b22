import { loadImage, loadImageGray } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { InvalidOptionError } from "./errors.js"

/** An image argument: a file path, encoded bytes (PNG/JPEG/WebP), or a tensor `[N, C, H, W]` / `[C, H, W]` in [0, 1]. */
export type ImageInput = string | Uint8Array | Tensor<"float32">

/** Loads an image argument as `[N, C, H, W]` float32 in [0, 1]; `gray` gives one channel (PIL `convert("L")`). */
export async function readImageInput(input: ImageInput, name: string, gray = false): Promise<Tensor<"float32">> {
  if (typeof input === "string" || input instanceof Uint8Array) {
    return gray ? loadImageGray(input) : loadImage(input)
  }
  if (input?.dtype !== "float32" || (input.rank !== 3 && input.rank !== 4)) {
    throw new InvalidOptionError(
      `${name}: expected a file path, encoded image bytes or a float32 tensor [N, C, H, W] in [0, 1], found ${describe(input)}.`,
    )
  }
  const batch = input.rank === 3 ? input.reshape([1, ...input.shape]) : input
  const channels = batch.shape[1]!
  if (gray ? channels !== 1 && channels !== 3 : channels !== 3 && channels !== 4) {
    throw new InvalidOptionError(`${name}: expected ${gray ? "1 or 3" : "3"} channels, found ${channels} in ${batch.describe()}.`)
  }
  return batch
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value)
  const t = value as Partial<Tensor>
  if (typeof t.describe === "function") return t.describe()
  return typeof value
}
