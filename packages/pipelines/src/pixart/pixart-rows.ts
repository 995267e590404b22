import { Tensor, allocate, concat } from "@pagkit/tensor"
import type { DType } from "@pagkit/tensor"
import type { PlannedPass } from "@pagkit/guidance"
import type { RowHooks } from "@pagkit/models-core"
import { InvalidOptionError } from "../errors.js"

/** Rows `indices` of a tensor `[N, …]`, stacked in that order: `[indices.length, …]`. */
export function gatherRows<D extends DType>(t: Tensor<D>, indices: readonly number[]): Tensor<D> {
  const rowSize = t.shape.slice(1).reduce((a, b) => a * b, 1)
  const out = allocate(t.dtype, indices.length * rowSize)
  // Every TensorData type has set/subarray; TypeScript cannot pair them across the union.
  const source = t.data as unknown as Float32Array
  const target = out as unknown as Float32Array
  indices.forEach((row, i) => target.set(source.subarray(row * rowSize, (row + 1) * rowSize), i * rowSize))
  return new Tensor(t.dtype, out, [indices.length, ...t.shape.slice(1)])
}

/** Prompt conditioning of both kinds, `[B, …]` each (uncond absent when CFG is off for the whole run). */
export interface PixArtConditioning {
  readonly cond: { readonly embeds: Tensor<"float32">; readonly mask: Tensor }
  readonly uncond?: { readonly embeds: Tensor<"float32">; readonly mask: Tensor } | undefined
}

/** The transformer inputs of one planned pass, laid out chunk-major as the planner says. */
export interface PixArtPassInputs {
  readonly sample: Tensor<"float32">
  readonly encoderHiddenStates: Tensor<"float32">
  readonly encoderAttentionMask: Tensor
  readonly hooks: readonly RowHooks[]
}

/**
 * Lays out one planned pass for the transformer: each row takes its image's latents, its conditioning's
 * embeddings and mask (diffusers' `[uncond, cond, cond]` batch) and its hook activations (PAG's perturbed rows
 * carry `{ "identity-attention": module paths }`).
 */
export function passInputs(pass: PlannedPass, modelInput: Tensor<"float32">, conditioning: PixArtConditioning): PixArtPassInputs {
  const samples = pass.rows.map((row) => row.sample)
  const pick = (kind: "cond" | "uncond"): NonNullable<PixArtConditioning["uncond"]> => {
    const found = kind === "cond" ? conditioning.cond : conditioning.uncond
    if (found === undefined) {
      throw new InvalidOptionError(`a "${kind}" row was planned but no ${kind === "uncond" ? "negative " : ""}embeddings were encoded.`)
    }
    return found
  }
  const usesUncond = pass.rows.some((row) => row.conditioning === "uncond")
  const uncondOffset = conditioning.cond.embeds.shape[0]!
  // One table [cond; uncond] so rows gather in one go.
  const embeds = usesUncond ? concat([pick("cond").embeds, pick("uncond").embeds]) : conditioning.cond.embeds
  const mask = usesUncond ? concat([pick("cond").mask, pick("uncond").mask]) : conditioning.cond.mask
  const textRows = pass.rows.map((row) => (row.conditioning === "uncond" ? uncondOffset + row.sample : row.sample))
  return {
    sample: gatherRows(modelInput, samples),
    encoderHiddenStates: gatherRows(embeds, textRows),
    encoderAttentionMask: gatherRows(mask, textRows),
    hooks: pass.rows.map((row) => row.hooks),
  }
}
