import type { PlannedPass } from "@pagkit/guidance"
import { concat, slice } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { PipelineError } from "./errors.js"

/** A per-image model input that differs by conditioning (`[batch, …]` each); `uncond` absent without CFG. */
export interface ConditionedInput {
  readonly cond: Tensor
  readonly uncond?: Tensor | undefined
}

/** A per-row input: the same for both conditionings (a tensor) or one per conditioning. */
export type RowSource = Tensor | ConditionedInput

function isTensor(source: RowSource): source is Tensor {
  return (source as Tensor).shape !== undefined && (source as Tensor).data !== undefined
}

/**
 * Lays out the model inputs of a planned pass: row `i` takes image `rows[i].sample` of the tensor for
 * `rows[i].conditioning` (diffusers' chunk-major `[uncond…, cond…, perturbed…]`). The perturbed chunk gets exactly
 * the cond inputs; only its hook gates differ.
 */
export function gatherRows(pass: PlannedPass, sources: Readonly<Record<string, RowSource>>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {}
  for (const [name, source] of Object.entries(sources)) {
    const pieces = pass.rows.map((row) => {
      const tensor = isTensor(source) ? source : row.conditioning === "cond" ? source.cond : source.uncond
      if (tensor === undefined) {
        throw new PipelineError("MISSING_CONDITIONING", `input "${name}" has no unconditional rows, but the plan needs them.`)
      }
      return slice(tensor, 0, row.sample, row.sample + 1)
    })
    out[name] = pieces.length === 1 ? pieces[0]! : concat(pieces, 0)
  }
  return out
}
