import type { Tensor } from "@pagkit/tensor"
import { MissingPredictionError } from "./errors.js"

/**
 * The denoiser's output for one step, split by branch: branch name → tensor of that branch's rows
 * (`[batchSize, …]`, one row per image, in the caller's image order).
 *
 * @example
 * const c = preds.get("cond") // throws a clear error when "cond" was not computed
 * if (preds.has("pag")) { … }
 */
export class Predictions {
  readonly #byBranch: ReadonlyMap<string, Tensor>

  constructor(byBranch: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>) {
    this.#byBranch = byBranch instanceof Map ? new Map(byBranch) : new Map(Object.entries(byBranch))
  }

  /** The prediction of a branch; throws {@link MissingPredictionError} when it was not computed this step. */
  get(branch: string): Tensor {
    const prediction = this.#byBranch.get(branch)
    if (prediction === undefined) {
      throw new MissingPredictionError(
        `prediction "${branch}" was not computed for this step; computed: ${this.names.map((n) => `"${n}"`).join(", ") || "none"}. ` +
          `A middleware may only read the branches it (or the base "cond") asked for in branches(ctx).`,
      )
    }
    return prediction
  }

  /** True when the branch was computed this step. */
  has(branch: string): boolean {
    return this.#byBranch.has(branch)
  }

  /** Names of the computed branches, in plan order. */
  get names(): string[] {
    return [...this.#byBranch.keys()]
  }
}
