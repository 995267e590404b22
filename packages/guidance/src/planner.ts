import type { Tensor } from "@pagkit/tensor"
import { BranchConflictError, GuidanceOptionsError, PredictionShapeError, UndeclaredHookError } from "./errors.js"
import { COND_KEY, UNCOND_KEY, activationLayers, contentKey, describeBranch, normalizeHooks } from "./internal/branch-key.js"
import { sliceRows } from "./internal/rows.js"
import { Predictions } from "./predictions.js"
import type { BranchSpec, Conditioning, GuidanceMiddleware, HookActivations, StepContext } from "./types.js"

/** One chunk of rows in a plan: a distinct (conditioning, hooks) pair and every branch name that reads it. */
export interface PlannedBranch {
  /** `"uncond"`, `"cond"`, or the first name that asked for these rows (e.g. `"pag"`). */
  readonly name: string
  /** Every branch name served by these rows (several when middlewares ask for equal specs under other names). */
  readonly names: readonly string[]
  readonly conditioning: Conditioning
  /** Hook kind → layer patterns (or patterns with a value), normalized (no empty lists, kinds sorted). */
  readonly hooks: HookActivations
}

/** One row of a denoiser batch. */
export interface PlanRow {
  /** Name of the {@link PlannedBranch} the row belongs to. */
  readonly branch: string
  readonly conditioning: Conditioning
  readonly hooks: HookActivations
  /** Which image of the chunk (0 … batchSize − 1): index into the latents and per-image inputs. */
  readonly sample: number
}

/** One denoiser call: its chunks in order and its rows, chunk-major (`chunks.length · batchSize` rows). */
export interface PlannedPass {
  readonly chunks: readonly PlannedBranch[]
  readonly rows: readonly PlanRow[]
  readonly batchSize: number
}

/** Everything the denoiser must compute for one step. */
export interface GuidancePlan {
  /** Distinct branches in diffusers' order `[uncond, cond, perturbed…]`. */
  readonly branches: readonly PlannedBranch[]
  /** One pass (`"batched"`) or one per branch (`"separate"`); outputs must be given in this order. */
  readonly passes: readonly PlannedPass[]
  readonly batchSize: number
}

/** How to lay out a step's rows. */
export interface PlanOptions {
  /** Rows per chunk: `batch_size · num_images_per_prompt`. */
  readonly batchSize: number
  /** `"batched"` (default): one call for every row; `"separate"`: one call per branch (lower peak memory). */
  readonly passes?: "batched" | "separate"
}

function checkDeclared(middleware: GuidanceMiddleware, branch: BranchSpec): void {
  const hooks = normalizeHooks(branch.hooks)
  for (const kind of Object.keys(hooks)) {
    const declared = (middleware.hooks ?? []).filter((h) => h.kind === kind && h.branch === branch.name)
    const allowed = new Set(declared.flatMap((h) => h.targets))
    const missing = activationLayers(hooks[kind]).filter((p) => !allowed.has(p))
    if (missing.length > 0) {
      throw new UndeclaredHookError(
        `middleware "${middleware.name}" activates hook "${kind}" on [${missing.join(", ")}] for branch "${branch.name}" ` +
          `but declares no such hook. Add { kind: "${kind}", targets, branch: "${branch.name}" } to its hooks so adapters can install it.`,
      )
    }
  }
}

function checkReserved(branch: BranchSpec, middleware: string): void {
  const key = contentKey(branch)
  if ((branch.name === "uncond" && key !== UNCOND_KEY) || (branch.name === "cond" && key !== COND_KEY)) {
    throw new BranchConflictError(
      `middleware "${middleware}" asks for ${describeBranch(branch)}, but "${branch.name}" is reserved for the plain ` +
        `${branch.name === "cond" ? "conditional" : "unconditional"} prediction with no hooks. Give the branch its own name.`,
    )
  }
}

/**
 * Collects the branches every middleware needs for a step, deduplicates equal ones and orders them
 * as diffusers batches them: `[uncond, cond, others in chain order]`. `"cond"` is always included:
 * it is the base prediction every fold starts from.
 */
export function planBranches(middlewares: readonly GuidanceMiddleware[], ctx: StepContext): PlannedBranch[] {
  const byName = new Map<string, { key: string; spec: BranchSpec; from: string }>()
  const groups = new Map<string, { names: string[]; spec: BranchSpec }>()
  const request = (spec: BranchSpec, from: string): void => {
    const key = contentKey(spec)
    const seen = byName.get(spec.name)
    if (seen !== undefined && seen.key !== key) {
      throw new BranchConflictError(
        `branch "${spec.name}" is asked for twice with different inputs: ${describeBranch(seen.spec)} by "${seen.from}" and ` +
          `${describeBranch(spec)} by "${from}". Rename one branch, or merge the two middlewares into one.`,
      )
    }
    byName.set(spec.name, { key, spec, from })
    const group = groups.get(key)
    if (group === undefined) groups.set(key, { names: [spec.name], spec })
    else if (!group.names.includes(spec.name)) group.names.push(spec.name)
  }
  request({ name: "cond", conditioning: "cond" }, "(base)")
  for (const middleware of middlewares) {
    for (const spec of middleware.branches(ctx)) {
      checkReserved(spec, middleware.name)
      checkDeclared(middleware, spec)
      request(spec, middleware.name)
    }
  }
  const rank = (key: string): number => (key === UNCOND_KEY ? 0 : key === COND_KEY ? 1 : 2)
  const ordered = [...groups.entries()].sort((a, b) => rank(a[0]) - rank(b[0])) // stable: chain order kept
  return ordered.map(([key, group]) => {
    const name = key === UNCOND_KEY ? "uncond" : key === COND_KEY ? "cond" : group.names[0]!
    const names = [name, ...group.names.filter((n) => n !== name)]
    return Object.freeze({
      name,
      names: Object.freeze(names),
      conditioning: group.spec.conditioning,
      hooks: normalizeHooks(group.spec.hooks),
    })
  })
}

function makePass(chunks: readonly PlannedBranch[], batchSize: number): PlannedPass {
  const rows: PlanRow[] = []
  for (const chunk of chunks) {
    for (let sample = 0; sample < batchSize; sample++) {
      rows.push(Object.freeze({ branch: chunk.name, conditioning: chunk.conditioning, hooks: chunk.hooks, sample }))
    }
  }
  return Object.freeze({ chunks: Object.freeze([...chunks]), rows: Object.freeze(rows), batchSize })
}

/**
 * Plans one step: which rows the denoiser computes, with which conditioning and hooks,
 * in one batched pass (chunk-major, diffusers' layout) or one pass per branch.
 *
 * @example
 * const plan = planStep(chain.middlewares, { stepIndex: 0, numSteps: 30, timestep: 999 }, { batchSize: 2 })
 * plan.passes[0].rows.map((r) => r.branch) // ["uncond", "uncond", "cond", "cond", "pag", "pag"]
 */
export function planStep(middlewares: readonly GuidanceMiddleware[], ctx: StepContext, options: PlanOptions): GuidancePlan {
  const { batchSize } = options
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new GuidanceOptionsError(
      `batchSize: expected a whole number >= 1 (batch_size · num_images_per_prompt), found ${String(batchSize)}.`,
    )
  }
  const mode = options.passes ?? "batched"
  if (mode !== "batched" && mode !== "separate") {
    throw new GuidanceOptionsError(`passes: expected "batched" or "separate", found ${JSON.stringify(mode)}.`)
  }
  const branches = planBranches(middlewares, ctx)
  const passes = mode === "batched" ? [makePass(branches, batchSize)] : branches.map((b) => makePass([b], batchSize))
  return Object.freeze({ branches: Object.freeze(branches), passes: Object.freeze(passes), batchSize })
}

/**
 * Splits the denoiser outputs (one tensor per pass, `[pass.rows.length, …]`) back into per-branch
 * predictions of `[batchSize, …]`. Channel counts do not matter (learned-sigma outputs are combined whole).
 */
export function splitPredictions(plan: GuidancePlan, outputs: readonly Tensor[]): Predictions {
  if (outputs.length !== plan.passes.length) {
    throw new PredictionShapeError(
      `expected ${plan.passes.length} denoiser output(s), one per planned pass, found ${outputs.length}.`,
    )
  }
  const byBranch = new Map<string, Tensor>()
  let reference: Tensor | undefined
  plan.passes.forEach((pass, p) => {
    const output = outputs[p]!
    if (output.shape[0] !== pass.rows.length) {
      throw new PredictionShapeError(
        `denoiser output ${p} has shape [${output.shape.join(", ")}]; expected ${pass.rows.length} rows on axis 0 ` +
          `(${pass.chunks.length} chunk(s) × batch ${pass.batchSize}). Return one output row per planned row, in order.`,
      )
    }
    if (reference !== undefined && (reference.dtype !== output.dtype || reference.shape.slice(1).join() !== output.shape.slice(1).join())) {
      throw new PredictionShapeError(
        `denoiser outputs disagree: ${reference.describe()} vs ${output.describe()} (per-row shape and dtype must match across passes).`,
      )
    }
    reference ??= output
    pass.chunks.forEach((chunk, c) => {
      const rows = sliceRows(output, c * pass.batchSize, pass.batchSize)
      for (const name of chunk.names) byBranch.set(name, rows)
    })
  })
  return new Predictions(byBranch)
}

/**
 * Per-row layer patterns of one hook kind for a pass (`[]` where the hook is off):
 * what an adapter turns into that kind's gate tensor.
 */
export function rowHookPatterns(pass: PlannedPass, kind: string): (readonly string[])[] {
  return pass.rows.map((row) => activationLayers(row.hooks[kind]))
}
