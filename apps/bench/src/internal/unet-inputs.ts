// Deterministic UNet inputs for tiny-sdxl (32×32 latents), as pagkit tensors and as raw onnxruntime feeds.
import * as ort from "onnxruntime-node"
import { Tensor } from "@pagkit/tensor"

/** Latent side of a 64×64 image with tiny-sdxl's VAE scale factor 2. */
export const LATENT_SIDE = 32
/** CLIP sequence length. */
const SEQUENCE = 77
/** tiny-sdxl's cross-attention dim and pooled text-embedding width. */
const CROSS_DIM = 64
const POOLED = 32

/** Values in [-1, 1) from a small linear congruential generator (inputs only need to be fixed, not random). */
function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count)
  let state = seed >>> 0
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    out[i] = state / 2 ** 31 - 1
  }
  return out
}

/** The per-row UNet inputs of a batch (timestep not included). */
export interface UnetRowInputs {
  /** `[B, 4, 32, 32]` */
  readonly sample: Tensor<"float32">
  /** `[B, 77, 64]` */
  readonly encoder_hidden_states: Tensor<"float32">
  /** `[B, 32]` */
  readonly text_embeds: Tensor<"float32">
  /** `[B, 6]` */
  readonly time_ids: Tensor<"float32">
}

/** Fixed inputs of a batch of `batch` rows. */
export function unetRowInputs(batch: number): UnetRowInputs {
  const f32 = (shape: number[], seed: number): Tensor<"float32"> =>
    new Tensor("float32", values(shape.reduce((a, b) => a * b, 1), seed), shape)
  return {
    sample: f32([batch, 4, LATENT_SIDE, LATENT_SIDE], 1),
    encoder_hidden_states: f32([batch, SEQUENCE, CROSS_DIM], 2),
    text_embeds: f32([batch, POOLED], 3),
    time_ids: new Tensor("float32", Float32Array.from({ length: batch * 6 }, (_, i) => [64, 64, 0, 0, 64, 64][i % 6]!), [batch, 6]),
  }
}

/** The tiny-sdxl UNet's `timestep` input: int64 `[B]`. */
export function timestepTensor(batch: number, timestep: number): Tensor<"int64"> {
  return new Tensor("int64", new BigInt64Array(batch).fill(BigInt(timestep)), [batch])
}

/** The same inputs as onnxruntime tensors over the same buffers (what a raw onnxruntime user would feed). */
export function rawFeeds(inputs: UnetRowInputs, timestep: number): Record<string, ort.Tensor> {
  const batch = inputs.sample.shape[0]!
  const feeds: Record<string, ort.Tensor> = {
    timestep: new ort.Tensor("int64", new BigInt64Array(batch).fill(BigInt(timestep)), [batch]),
  }
  for (const [name, t] of Object.entries(inputs) as [string, Tensor<"float32">][]) {
    feeds[name] = new ort.Tensor("float32", t.data, [...t.shape])
  }
  return feeds
}
