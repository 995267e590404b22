// Per-row image tokens for a batched UNet call: rows take their conditioning's tokens (SPEC §2: the perturbed
// chunk gets exactly the cond inputs, e.g. `[neg, pos, pos]` with CFG + PAG).
import { Tensor } from "@pagkit/tensor"
import { IpAdapterInputError } from "./errors.js"

/** One row of a denoiser batch (a `@pagkit/guidance` `PlanRow` fits). */
export interface TokenRow {
  readonly conditioning: "uncond" | "cond"
  /** Which image of the chunk; default 0. Tokens with one row serve every sample. */
  readonly sample?: number
}

/** Image tokens per conditioning, each `[N, T, C]` (N = 1 or one per sample). */
export interface ConditionedTokens {
  readonly cond: Tensor<"float32">
  /** Tokens of the zero image embedding; required when a row is `"uncond"`. */
  readonly uncond?: Tensor<"float32"> | undefined
}

/**
 * Lays out image tokens for the rows of one UNet call, chunk-major like every other per-row input.
 *
 * @example
 * const rows = [{ conditioning: "uncond" }, { conditioning: "cond" }, { conditioning: "cond" }] as const
 * const feed = imageTokensForRows({ cond, uncond }, rows) // [3, T, C] = [neg, pos, pos]
 */
export function imageTokensForRows(tokens: ConditionedTokens, rows: readonly TokenRow[]): Tensor<"float32"> {
  const { cond } = tokens
  if (cond.rank !== 3) throw new IpAdapterInputError(`image tokens must be [N, tokens, C], found ${cond.describe()}.`)
  const [, t, c] = cond.shape as [number, number, number]
  const rowSize = t * c
  const out = new Float32Array(rows.length * rowSize)
  rows.forEach((row, r) => {
    const source = row.conditioning === "uncond" ? tokens.uncond : cond
    if (source === undefined) {
      throw new IpAdapterInputError(`row ${r} is "uncond" but no unconditional image tokens were given; pass the tokens of the zero image embedding.`)
    }
    if (source.shape[1] !== t || source.shape[2] !== c) {
      throw new IpAdapterInputError(`unconditional tokens ${source.describe()} do not match the conditional ones ${cond.describe()}.`)
    }
    const n = source.shape[0]!
    const sample = row.sample ?? 0
    if (n !== 1 && sample >= n) throw new IpAdapterInputError(`row ${r} wants sample ${sample}, but only ${n} token rows were given.`)
    const from = (n === 1 ? 0 : sample) * rowSize
    out.set(source.data.subarray(from, from + rowSize), r * rowSize)
  })
  return new Tensor("float32", out, [rows.length, t, c])
}
