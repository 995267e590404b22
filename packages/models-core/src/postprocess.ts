import { Tensor } from "@pagkit/tensor"
import { ModelInputError } from "./errors.js"

/** Output formats of {@link postprocessImages}: diffusers' `output_type` `"np"` (NHWC) and `"pt"` (NCHW). */
export type ImageOutputType = "np" | "pt"

/** NCHW → NHWC (diffusers `VaeImageProcessor.pt_to_numpy`). */
export function toNhwc(images: Tensor<"float32">): Tensor<"float32"> {
  if (images.rank !== 4) throw new ModelInputError(`expected images [N, C, H, W], found ${images.describe()}.`)
  const [n, c, h, w] = images.shape as [number, number, number, number]
  const out = new Float32Array(images.size)
  const plane = h * w
  for (let b = 0; b < n; b++) {
    for (let k = 0; k < c; k++) {
      const src = (b * c + k) * plane
      for (let i = 0; i < plane; i++) out[(b * plane + i) * c + k] = images.data[src + i]!
    }
  }
  return new Tensor("float32", out, [n, h, w, c])
}

/** NHWC → NCHW (diffusers `VaeImageProcessor.numpy_to_pt`). */
export function toNchw(images: Tensor<"float32">): Tensor<"float32"> {
  if (images.rank !== 4) throw new ModelInputError(`expected images [N, H, W, C], found ${images.describe()}.`)
  const [n, h, w, c] = images.shape as [number, number, number, number]
  const out = new Float32Array(images.size)
  const plane = h * w
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < plane; i++) {
      for (let k = 0; k < c; k++) out[(b * c + k) * plane + i] = images.data[(b * plane + i) * c + k]!
    }
  }
  return new Tensor("float32", out, [n, c, h, w])
}

/**
 * Decoded images `[N, 3, H, W]` in [0, 1] (what `Vae.decode` returns) to an output format:
 * `"np"` gives `[N, H, W, 3]` like diffusers' `output_type="np"`, `"pt"` returns them as they are.
 * For PNG files use `@pagkit/tensor`'s image encoder on the `"pt"` layout.
 *
 * @example
 * const np = postprocessImages(await vae.decode(latents), "np") // compare with an oracle's `image`
 */
export function postprocessImages(images: Tensor<"float32">, outputType: ImageOutputType = "np"): Tensor<"float32"> {
  if (outputType === "pt") return images
  return toNhwc(images)
}
