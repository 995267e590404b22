// diffusers `models/embeddings.py` `ImageProjection.forward` (IP-Adapter "base"), as applied by
// `MultiIPAdapterImageProjection`: tokens = LayerNorm(Linear(image_embeds)) reshaped to [B, n · T, C].
import { Tensor, toFloat32 } from "@pagkit/tensor"
import { IpAdapterInputError } from "./errors.js"
import type { IpAdapterWeights } from "./ip-adapter-weights.js"

/** torch `nn.LayerNorm` default epsilon. */
const LAYER_NORM_EPS = 1e-5

/**
 * Projects image embeddings `[B, D]` or `[B, n, D]` (n images per row) to image tokens `[B, n · T, C]`
 * (`T` = numTokens, `C` = cross-attention dim), computed in float64 and rounded to float32.
 *
 * @example
 * const tokens = projectImageEmbeds(weights, imageEmbeds) // [2, 4, 64] for tiny-sdxl with CFG
 */
export function projectImageEmbeds(weights: IpAdapterWeights, imageEmbeds: Tensor): Tensor<"float32"> {
  const { imageEmbedDim: d, numTokens: tokens, crossAttentionDim: c } = weights
  if ((imageEmbeds.rank !== 2 && imageEmbeds.rank !== 3) || imageEmbeds.shape[imageEmbeds.rank - 1] !== d) {
    throw new IpAdapterInputError(
      `image embeddings must be [batch, ${d}] or [batch, images, ${d}] (the image encoder's image_embeds), found ${imageEmbeds.describe()}.`,
    )
  }
  const batch = imageEmbeds.shape[0]!
  const images = imageEmbeds.rank === 3 ? imageEmbeds.shape[1]! : 1
  const rows = batch * images
  const w = weights.projWeight.data
  const bias = weights.projBias.data
  const gamma = weights.normWeight.data
  const beta = weights.normBias.data
  const out = new Float32Array(rows * tokens * c)
  const linear = new Float64Array(tokens * c)
  const x = toFloat32(imageEmbeds).data // float16 embeddings hold half bits: decode them
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < tokens * c; o++) {
      let acc = 0
      for (let k = 0; k < d; k++) acc += x[r * d + k]! * w[o * d + k]!
      linear[o] = Math.fround(acc + bias[o]!)
    }
    for (let t = 0; t < tokens; t++) {
      let mean = 0
      for (let j = 0; j < c; j++) mean += linear[t * c + j]!
      mean /= c
      let variance = 0
      for (let j = 0; j < c; j++) variance += (linear[t * c + j]! - mean) ** 2
      variance /= c
      const inv = 1 / Math.sqrt(variance + LAYER_NORM_EPS)
      for (let j = 0; j < c; j++) out[(r * tokens + t) * c + j] = (linear[t * c + j]! - mean) * inv * gamma[j]! + beta[j]!
    }
  }
  return new Tensor("float32", out, [batch, images * tokens, c])
}
