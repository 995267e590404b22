// diffusers `models/embeddings.py` `IPAdapterPlusImageProjection.forward` / `IPAdapterPlusImageProjectionBlock.forward`
// (the original IP-Adapter `Resampler`), with `Attention` + `AttnProcessor2_0` (no biases, scale 1/√headDim) and
// `FeedForward(activation_fn="gelu", bias=False)`. Computed in float64, rounded to float32 at the end.
import { Tensor, toFloat32 } from "@pagkit/tensor"
import { IpAdapterInputError } from "./errors.js"
import { geluInPlace, layerNorm, linear } from "./internal/dense-math.js"
import type { PlusProjectionBlock, PlusProjectionWeights } from "./plus-projection-weights.js"

/** `softmax(q·kᵀ/√d)·v` per head; q `[Q, heads·d]`, kv `[S, heads·d]` → `[Q, heads·d]`. */
function multiHeadAttention(q: Float64Array, k: Float64Array, v: Float64Array, queries: number, keys: number, heads: number, headDim: number): Float64Array {
  const inner = heads * headDim
  const out = new Float64Array(queries * inner)
  const scores = new Float64Array(keys)
  const scale = 1 / Math.sqrt(headDim)
  for (let h = 0; h < heads; h++) {
    const ho = h * headDim
    for (let i = 0; i < queries; i++) {
      let max = -Infinity
      for (let j = 0; j < keys; j++) {
        let dot = 0
        for (let d = 0; d < headDim; d++) dot += q[i * inner + ho + d]! * k[j * inner + ho + d]!
        scores[j] = dot * scale
        if (scores[j]! > max) max = scores[j]!
      }
      let sum = 0
      for (let j = 0; j < keys; j++) {
        scores[j] = Math.exp(scores[j]! - max)
        sum += scores[j]!
      }
      for (let j = 0; j < keys; j++) {
        const p = scores[j]! / sum
        for (let d = 0; d < headDim; d++) out[i * inner + ho + d] = out[i * inner + ho + d]! + p * v[j * inner + ho + d]!
      }
    }
  }
  return out
}

/** Index of an earlier row with exactly the same values as row `r`, or -1. */
function sameRowBefore(data: Float32Array, r: number, rowSize: number): number {
  for (let earlier = 0; earlier < r; earlier++) {
    let equal = true
    for (let i = 0; i < rowSize && equal; i++) equal = Object.is(data[earlier * rowSize + i], data[r * rowSize + i])
    if (equal) return earlier
  }
  return -1
}

/** One block: latents ← attn(ln1(latents), [ln0(x); ln1(latents)]) + latents; latents ← ff(latents) + latents. */
function block(w: PlusProjectionWeights, b: PlusProjectionBlock, x: Float64Array, seq: number, latents: Float64Array): Float64Array {
  const { hiddenDim: hidden, numQueries: queries, heads, headDim } = w
  const inner = heads * headDim
  const xNorm = layerNorm(x, seq, hidden, b.ln0.weight, b.ln0.bias)
  const latentsNorm = layerNorm(latents, queries, hidden, b.ln1.weight, b.ln1.bias)
  const kvInput = new Float64Array((seq + queries) * hidden) // torch.cat([ln0(x), ln1(latents)], dim=-2)
  kvInput.set(xNorm)
  kvInput.set(latentsNorm, seq * hidden)
  const q = linear(latentsNorm, queries, b.toQ, hidden)
  const k = linear(kvInput, seq + queries, b.toK, hidden)
  const v = linear(kvInput, seq + queries, b.toV, hidden)
  const attended = linear(multiHeadAttention(q, k, v, queries, seq + queries, heads, headDim), queries, b.toOut, inner)
  for (let i = 0; i < attended.length; i++) attended[i] = attended[i]! + latents[i]!
  const ffHidden = geluInPlace(linear(layerNorm(attended, queries, hidden, b.ffNorm.weight, b.ffNorm.bias), queries, b.ffIn, hidden))
  const ff = linear(ffHidden, queries, b.ffOut, w.ffDim)
  for (let i = 0; i < ff.length; i++) ff[i] = ff[i]! + attended[i]!
  return ff
}

/**
 * The Plus image projection of image-encoder hidden states `[N, seq, embedDim]` (penultimate layer), or
 * `[B, n, seq, embedDim]` for n images per row: image tokens `[N, numQueries, outputDim]`, or `[B, n · numQueries,
 * outputDim]` (diffusers `MultiIPAdapterImageProjection` folds the images into the batch and back; the attention
 * processor reads them as `n · numQueries` tokens).
 *
 * @example
 * const tokens = projectPlusHiddenStates(weights, hiddenStates) // [2, 16, 64] for the tiny Plus adapter
 */
export function projectPlusHiddenStates(weights: PlusProjectionWeights, hiddenStates: Tensor): Tensor<"float32"> {
  const { embedDim, hiddenDim, outputDim, numQueries } = weights
  const rank = hiddenStates.rank
  if ((rank !== 3 && rank !== 4) || hiddenStates.shape[rank - 1] !== embedDim) {
    throw new IpAdapterInputError(
      `IP-Adapter Plus needs image-encoder hidden states [batch, seq, ${embedDim}] or [batch, images, seq, ${embedDim}] (the penultimate layer's output), found ${hiddenStates.describe()}.`,
    )
  }
  const batch = hiddenStates.shape[0]!
  const images = rank === 4 ? hiddenStates.shape[1]! : 1
  const seq = hiddenStates.shape[rank - 2]!
  const input = toFloat32(hiddenStates).data
  const out = new Float32Array(batch * images * numQueries * outputDim)
  const rowSize = seq * embedDim
  const tokenSize = numQueries * outputDim
  for (let r = 0; r < batch * images; r++) {
    // rows repeated for a batch (or the zero image's, every run) are projected once
    const same = sameRowBefore(input, r, rowSize)
    if (same >= 0) {
      out.copyWithin(r * tokenSize, same * tokenSize, (same + 1) * tokenSize)
      continue
    }
    const x = linear(Float64Array.from(input.subarray(r * seq * embedDim, (r + 1) * seq * embedDim)), seq, weights.projIn.weight, embedDim, weights.projIn.bias)
    let latents: Float64Array = Float64Array.from(weights.latents) // latents.repeat(batch, 1, 1)
    for (const b of weights.blocks) latents = block(weights, b, x, seq, latents)
    const projected = layerNorm(linear(latents, numQueries, weights.projOut.weight, hiddenDim, weights.projOut.bias), numQueries, outputDim, weights.normOut.weight, weights.normOut.bias)
    out.set(projected, r * numQueries * outputDim) // Float64 → Float32 rounds to nearest
  }
  return new Tensor("float32", out, rank === 4 ? [batch, images * numQueries, outputDim] : [batch, numQueries, outputDim])
}
