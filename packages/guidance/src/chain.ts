import type { Tensor } from "@pagkit/tensor"
import { DuplicateMiddlewareError, GuidanceOptionsError } from "./errors.js"
import { planBranches, planStep, splitPredictions } from "./planner.js"
import type { GuidancePlan, PlanOptions, PlannedPass } from "./planner.js"
import type { Predictions } from "./predictions.js"
import type { Conditioning, GuidanceMiddleware, HookSpec, StepContext } from "./types.js"
import { chainToJSON } from "./json.js"
import type { GuidanceJSON } from "./json.js"

/** Options of {@link runGuidedStep}: the layout plus the denoiser call. */
export interface RunStepOptions extends PlanOptions {
  /** Runs one planned pass; returns `[pass.rows.length, …]`, row i computed as `pass.rows[i]` says. */
  readonly denoise: (pass: PlannedPass) => Promise<Tensor> | Tensor
}

/**
 * Folds the middlewares' terms in chain order, then their `finish` corrections, giving the guided
 * prediction. The fold starts from `undefined` (= the plain conditional prediction `c`).
 */
export function combinePredictions(middlewares: readonly GuidanceMiddleware[], preds: Predictions, ctx: StepContext): Tensor {
  let folded: Tensor | undefined
  for (const middleware of middlewares) folded = middleware.combine(folded, preds, ctx)
  let guided = folded ?? preds.get("cond")
  for (const middleware of middlewares) {
    if (middleware.finish !== undefined) guided = middleware.finish(guided, preds, ctx)
  }
  return guided
}

/**
 * An ordered, immutable chain of guidance middlewares: plans each step's rows and folds the
 * predictions into one guided prediction. Build it with {@link guidance}.
 */
export class GuidanceChain {
  /** The middlewares, in fold order. */
  readonly middlewares: readonly GuidanceMiddleware[]

  constructor(middlewares: readonly GuidanceMiddleware[]) {
    const seen = new Set<string>()
    for (const [i, middleware] of middlewares.entries()) {
      if (
        middleware === null ||
        typeof middleware !== "object" ||
        typeof middleware.name !== "string" ||
        middleware.name === "" ||
        typeof middleware.branches !== "function" ||
        typeof middleware.combine !== "function"
      ) {
        throw new GuidanceOptionsError(
          `guidance(): argument ${i} is not a guidance middleware; expected { name, branches(ctx), combine(prev, preds, ctx) } ` +
            `such as cfg({ scale: 5 }) or pag({ scale: 3, layers: ["mid"] }).`,
        )
      }
      if (seen.has(middleware.name)) {
        throw new DuplicateMiddlewareError(
          `guidance(): two middlewares are named "${middleware.name}"; each strategy may appear once, since two would add ` +
            `their terms twice. Merge their options into one (e.g. one pag() with all layers).`,
        )
      }
      seen.add(middleware.name)
    }
    this.middlewares = Object.freeze([...middlewares])
  }

  /** Every hook the chain may activate: what an adapter installs (and whose patterns it resolves) before a run. */
  get hooks(): HookSpec[] {
    return this.middlewares.flatMap((m) => m.hooks ?? [])
  }

  /** The middleware of a name, if any. */
  get(name: string): GuidanceMiddleware | undefined {
    return this.middlewares.find((m) => m.name === name)
  }

  /** A new chain with the middleware of the same name replaced (e.g. PAG with other layers), or appended. */
  with(middleware: GuidanceMiddleware): GuidanceChain {
    const index = this.middlewares.findIndex((m) => m.name === middleware.name)
    if (index < 0) return new GuidanceChain([...this.middlewares, middleware])
    return new GuidanceChain(this.middlewares.map((m, i) => (i === index ? middleware : m)))
  }

  /** A new chain without the middleware of that name. */
  without(name: string): GuidanceChain {
    return new GuidanceChain(this.middlewares.filter((m) => m.name !== name))
  }

  /**
   * The conditionings any of these steps will use: a pipeline encodes the negative prompt only
   * when `"uncond"` is in the result (diffusers' `do_classifier_free_guidance`).
   */
  conditionings(steps: readonly StepContext[]): Conditioning[] {
    const used = new Set<Conditioning>()
    for (const ctx of steps) for (const branch of planBranches(this.middlewares, ctx)) used.add(branch.conditioning)
    return (["uncond", "cond"] as const).filter((c) => used.has(c))
  }

  /** Rows to compute for a step (see {@link planStep}). */
  plan(ctx: StepContext, options: PlanOptions): GuidancePlan {
    return planStep(this.middlewares, ctx, options)
  }

  /** The guided prediction from a step's predictions (see {@link combinePredictions}). */
  combine(preds: Predictions, ctx: StepContext): Tensor {
    return combinePredictions(this.middlewares, preds, ctx)
  }

  /** The chain as JSON (see {@link chainToJSON}); `guidanceFromJSON(json, catalogue)` reads it back. */
  toJSON(): GuidanceJSON {
    return chainToJSON(this)
  }

  /** Plan, denoise, split and combine one step (see {@link runGuidedStep}). */
  step(ctx: StepContext, options: RunStepOptions): Promise<Tensor> {
    return runGuidedStep(this, ctx, options)
  }
}

/**
 * Builds a guidance chain; terms are folded in argument order.
 *
 * @example
 * const chain = guidance(cfg({ scale: 5, rescale: 0.7 }), pag({ scale: 3, layers: ["mid"] }))
 * // u + 5(c − u) + 3(c − p), then rescaled against c
 */
export function guidance(...middlewares: GuidanceMiddleware[]): GuidanceChain {
  return new GuidanceChain(middlewares)
}

/**
 * One guided denoising step: plans the rows, calls `denoise` once per pass (in order, one at a
 * time), splits the outputs by branch and folds them. Returns the guided prediction `[batchSize, …]`.
 *
 * @example
 * const noisePred = await runGuidedStep(chain, { stepIndex: i, numSteps, timestep: t }, {
 *   batchSize: 1,
 *   denoise: (pass) => unet.run(pass.rows), // rows: conditioning, sample index, hook patterns
 * })
 */
export async function runGuidedStep(chain: GuidanceChain, ctx: StepContext, options: RunStepOptions): Promise<Tensor> {
  const plan = chain.plan(ctx, options)
  const outputs: Tensor[] = []
  for (const pass of plan.passes) outputs.push(await options.denoise(pass))
  return chain.combine(splitPredictions(plan, outputs), ctx)
}
