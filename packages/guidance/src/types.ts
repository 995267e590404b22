import type { Tensor } from "@pagkit/tensor"
import type { Predictions } from "./predictions.js"

/** Which prompt encoding a row of the denoiser batch uses. */
export type Conditioning = "uncond" | "cond"

/** Layer patterns with the row's value there: a parameter for kinds driven by values (a blur sigma), 1 = plain "on". */
export interface ValuedActivation {
  readonly layers: readonly string[]
  readonly value: number
}

/** One hook kind's activation on a branch: layer patterns (value 1, a gate), or patterns with a value. */
export type HookActivation = readonly string[] | ValuedActivation

/**
 * Hook activations of a branch: hook kind → layer patterns (or patterns with a value), e.g.
 * `{ [IDENTITY_ATTENTION]: ["mid"] }` or `{ [QUERY_BLUR]: { layers: ["mid"], value: 10 } }`.
 * Patterns are resolved to sites of the kind's target by the pipeline (see `@pagkit/onnx`), never by guidance.
 */
export type HookActivations = Readonly<Record<string, HookActivation>>

/**
 * One prediction a middleware needs for a step: its name, the conditioning its rows use
 * and the hooks switched on for its rows. Equal specs from different middlewares are computed once.
 *
 * @example
 * const perturbed: BranchSpec = { name: "pag", conditioning: "cond", hooks: { "identity-attention": ["mid"] } }
 */
export interface BranchSpec {
  /** `"uncond"`, `"cond"` or a middleware's own name such as `"pag"`. */
  readonly name: string
  readonly conditioning: Conditioning
  /** Hooks active on this branch's rows; absent or empty = the plain model. */
  readonly hooks?: HookActivations
}

/**
 * A hook a middleware may activate, declared up front so the pipeline can install its kind (found by name in the
 * kind catalogue it was given) and resolve its patterns, failing early on a bad pattern, before the first step.
 */
export interface HookSpec {
  /** Hook kind name, e.g. `IDENTITY_ATTENTION` (PAG); a constant exported next to the middleware, never a literal. */
  readonly kind: string
  /** Layer patterns, resolved against the sites of the kind's target type (self-attention, block, …). */
  readonly targets: readonly string[]
  /** The branch whose rows get the hook. */
  readonly branch: string
}

/** What a middleware knows about the current denoising step. */
export interface StepContext {
  /** 0-based index of the step in the loop. */
  readonly stepIndex: number
  /** Number of steps in the loop (`len(scheduler.timesteps)`). */
  readonly numSteps: number
  /** The scheduler's timestep of this step, as a number (e.g. 801). */
  readonly timestep: number
}

/** A `[start, end]` pair of fractions of the run, `0 ≤ start < end ≤ 1`. */
export type GuidanceWindow = readonly [start: number, end: number]

/**
 * A guidance strategy. `branches` says which predictions it needs for a step (none when it is off),
 * `combine` folds its term into the running guided prediction, in chain order.
 *
 * Fold contract: `prev` is the guided prediction so far; `undefined` stands for the plain
 * conditional prediction `c` (nothing has guided yet). A middleware returns `prev` (or `c`) plus
 * its own term, so terms add up and nesting never multiplies scales. Optional `finish` runs after
 * every `combine`, in chain order, for corrections that must see the whole sum (guidance_rescale).
 */
export interface GuidanceMiddleware {
  /** Unique within a chain, e.g. `"cfg"`, `"pag"`. */
  readonly name: string
  /** Predictions needed at this step; `[]` when the strategy is off for the step. */
  branches(ctx: StepContext): readonly BranchSpec[]
  /** Every hook the middleware may activate, for adapters to install before the run. */
  readonly hooks?: readonly HookSpec[]
  /** Adds this middleware's term to `prev` (undefined = the plain conditional prediction). */
  combine(prev: Tensor | undefined, preds: Predictions, ctx: StepContext): Tensor | undefined
  /** Post-step correction on the full guided prediction, after every `combine`. */
  finish?(guided: Tensor, preds: Predictions, ctx: StepContext): Tensor
  /**
   * The middleware as plain JSON: `{ name: <catalogue id>, ...options }` (`as` = its chain name when that differs),
   * which the catalogue's factory of that id turns back into an equal middleware. Needed to cross threads.
   */
  toJSON?(): MiddlewareJSON
}

/** A middleware as JSON: its catalogue id, optional chain name (`as`), and its options. */
export interface MiddlewareJSON {
  readonly name: string
  readonly as?: string
  readonly [option: string]: unknown
}
