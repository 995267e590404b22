// The cost model that picks split or full execution for one denoiser call.
import { InputError } from "../errors.js"

/** How a hooked denoiser call is executed: `"auto"` asks {@link splitWorthIt}, the others force a path. */
export type SplitExecution = "auto" | "split" | "full"

/** Inputs of {@link splitWorthIt}. */
export interface SplitCostInput {
  /** Share of one row's model time spent in the prefix, in [0, 1] (measured, or a structural estimate). */
  readonly prefixFraction: number
  /** Rows of the call (e.g. 3 for `[uncond, cond, perturbed]`). */
  readonly rows: number
  /** Rows with distinct inputs, which the prefix runs on. Default `rows − 1` (the perturbed row shares the cond row's). */
  readonly distinctRows?: number
  /**
   * Fixed cost of splitting, in rows of model time: the second session call and copying the crossing tensors.
   * Default 0.05 (measured on tiny SDXL: about 1–3 % of a row at 64×64 to 128×128 latents).
   */
  readonly overheadRows?: number
}

/**
 * Whether running the prefix on the distinct rows only and the suffix on all rows is cheaper than one full call.
 * In rows of model time: full = `rows`; split = `distinct · f + rows · (1 − f) + overhead`; so split wins when
 * `(rows − distinct) · f > overhead`.
 *
 * @example
 * splitWorthIt({ prefixFraction: 0.45, rows: 3 })                  // "split": CFG + PAG, PAG at the mid block
 * splitWorthIt({ prefixFraction: 0.01, rows: 3 })                  // "full": the prefix is too small to pay
 * splitWorthIt({ prefixFraction: 0.45, rows: 2, distinctRows: 2 }) // "full": nothing to share
 */
export function splitWorthIt(input: SplitCostInput): "split" | "full" {
  const { prefixFraction, rows } = input
  const distinct = input.distinctRows ?? rows - 1
  const overhead = input.overheadRows ?? 0.05
  if (!(prefixFraction >= 0 && prefixFraction <= 1) || !Number.isInteger(rows) || rows < 1 || !Number.isInteger(distinct) || distinct < 1 || distinct > rows) {
    throw new InputError(
      "ONNX_INPUT_INVALID",
      "prefixFraction",
      `splitWorthIt: expected prefixFraction in [0, 1], whole rows ≥ 1 and 1 ≤ distinctRows ≤ rows; found prefixFraction ${prefixFraction}, rows ${rows}, distinctRows ${distinct}.`,
    )
  }
  return (rows - distinct) * prefixFraction > overhead ? "split" : "full"
}
