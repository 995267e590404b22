import { describe, expect, it } from "vitest"
import { Tensor } from "@pagkit/tensor"
import { BranchConflictError, PredictionShapeError, UndeclaredHookError, GuidanceOptionsError } from "./errors.js"
import { planBranches, planStep, rowHookPatterns, splitPredictions } from "./planner.js"
import type { BranchSpec, GuidanceMiddleware, StepContext } from "./types.js"

const ctx: StepContext = { stepIndex: 0, numSteps: 10, timestep: 999 }

function asking(name: string, branches: BranchSpec[], hooks?: GuidanceMiddleware["hooks"]): GuidanceMiddleware {
  return { name, branches: () => branches, ...(hooks ? { hooks } : {}), combine: (prev) => prev }
}

const uncond: BranchSpec = { name: "uncond", conditioning: "uncond" }
const cond: BranchSpec = { name: "cond", conditioning: "cond" }
const perturbed = (layers: string[], name = "pag"): BranchSpec => ({
  name,
  conditioning: "cond",
  hooks: { "identity-attention": layers },
})
const pagLike = (layers: string[], name = "pag"): GuidanceMiddleware =>
  asking(name, [cond, perturbed(layers, name)], [{ kind: "identity-attention", targets: layers, branch: name }])

describe("planBranches", () => {
  it("always plans the base cond branch, even for an empty chain", () => {
    expect(planBranches([], ctx).map((b) => b.name)).toEqual(["cond"])
  })

  it("orders branches as diffusers does: uncond, cond, then perturbed in chain order", () => {
    const branches = planBranches([pagLike(["mid"]), asking("cfg", [uncond, cond])], ctx)
    expect(branches.map((b) => b.name)).toEqual(["uncond", "cond", "pag"])
    expect(branches.map((b) => b.conditioning)).toEqual(["uncond", "cond", "cond"])
    expect(branches[2]!.hooks).toEqual({ "identity-attention": ["mid"] })
  })

  it("dedups equal specs, including ones under other names", () => {
    const alias = asking("alias", [{ name: "positive", conditioning: "cond" }])
    const branches = planBranches([asking("cfg", [uncond, cond]), alias, pagLike(["mid"])], ctx)
    expect(branches.map((b) => b.name)).toEqual(["uncond", "cond", "pag"])
    expect(branches[1]!.names).toEqual(["cond", "positive"])
  })

  it("treats hook pattern order and empty kinds as irrelevant to equality", () => {
    const a: BranchSpec = { name: "x", conditioning: "cond", hooks: { k: ["a", "b"], empty: [] } }
    const b: BranchSpec = { name: "y", conditioning: "cond", hooks: { k: ["b", "a"] } }
    const hooks = [
      { kind: "k", targets: ["a", "b"], branch: "x" },
      { kind: "k", targets: ["a", "b"], branch: "y" },
    ]
    const branches = planBranches([asking("m", [a, b], hooks)], ctx)
    expect(branches.map((br) => br.names)).toEqual([["cond"], ["x", "y"]])
  })

  it("rejects one branch name asked with two different specs", () => {
    expect(() => planBranches([pagLike(["mid"]), pagLike(["up"], "pag2"), asking("odd", [perturbed(["up"])])], ctx)).toThrow(
      UndeclaredHookError,
    )
    const clash = asking("clash", [perturbed(["up"])], [{ kind: "identity-attention", targets: ["up"], branch: "pag" }])
    expect(() => planBranches([pagLike(["mid"]), clash], ctx)).toThrow(BranchConflictError)
  })

  it("reserves cond and uncond for the plain predictions", () => {
    const bad = asking("bad", [{ name: "cond", conditioning: "uncond" }])
    expect(() => planBranches([bad], ctx)).toThrow(/reserved/)
    const hooked = asking("hooked", [{ name: "uncond", conditioning: "uncond", hooks: { k: ["mid"] } }], [
      { kind: "k", targets: ["mid"], branch: "uncond" },
    ])
    expect(() => planBranches([hooked], ctx)).toThrow(BranchConflictError)
  })

  it("requires hook activations to be declared", () => {
    const undeclared = asking("sneaky", [perturbed(["mid"])])
    expect(() => planBranches([undeclared], ctx)).toThrow(UndeclaredHookError)
    const partly = asking("partly", [perturbed(["mid", "up"])], [{ kind: "identity-attention", targets: ["mid"], branch: "pag" }])
    expect(() => planBranches([partly], ctx)).toThrow(/\[up\]/)
  })
})

describe("planStep", () => {
  const chain = [asking("cfg", [uncond, cond]), pagLike(["mid"])]

  it("lays rows out chunk-major in one batched pass", () => {
    const plan = planStep(chain, ctx, { batchSize: 2 })
    expect(plan.passes).toHaveLength(1)
    const rows = plan.passes[0]!.rows
    expect(rows.map((r) => `${r.branch}/${r.sample}`)).toEqual(["uncond/0", "uncond/1", "cond/0", "cond/1", "pag/0", "pag/1"])
    expect(rows.map((r) => r.conditioning)).toEqual(["uncond", "uncond", "cond", "cond", "cond", "cond"])
    expect(rowHookPatterns(plan.passes[0]!, "identity-attention")).toEqual([[], [], [], [], ["mid"], ["mid"]])
    expect(rowHookPatterns(plan.passes[0]!, "other")).toEqual([[], [], [], [], [], []])
  })

  it("makes one pass per branch when asked", () => {
    const plan = planStep(chain, ctx, { batchSize: 3, passes: "separate" })
    expect(plan.passes.map((p) => p.chunks.map((c) => c.name))).toEqual([["uncond"], ["cond"], ["pag"]])
    expect(plan.passes.every((p) => p.rows.length === 3)).toBe(true)
  })

  it("validates the layout options", () => {
    expect(() => planStep(chain, ctx, { batchSize: 0 })).toThrow(GuidanceOptionsError)
    expect(() => planStep(chain, ctx, { batchSize: 1.5 })).toThrow(/whole number/)
    expect(() => planStep(chain, ctx, { batchSize: 1, passes: "both" as "batched" })).toThrow(GuidanceOptionsError)
  })
})

describe("splitPredictions", () => {
  const chain = [asking("cfg", [uncond, cond]), pagLike(["mid"])]

  it("gives each branch its own rows, for every name that reads them", () => {
    const alias = asking("alias", [{ name: "positive", conditioning: "cond" }])
    const plan = planStep([...chain, alias], ctx, { batchSize: 2 })
    const output = Tensor.fromArray([0, 0, 1, 1, 10, 10, 11, 11, 20, 20, 21, 21], [6, 2])
    const preds = splitPredictions(plan, [output])
    expect(preds.names).toEqual(["uncond", "cond", "positive", "pag"])
    expect([...preds.get("cond").data]).toEqual([10, 10, 11, 11])
    expect(preds.get("cond").shape).toEqual([2, 2])
    expect(preds.get("positive")).toBe(preds.get("cond"))
    expect([...preds.get("pag").data]).toEqual([20, 20, 21, 21])
  })

  it("rejects outputs that do not fit the plan", () => {
    const plan = planStep(chain, ctx, { batchSize: 2 })
    expect(() => splitPredictions(plan, [])).toThrow(PredictionShapeError)
    expect(() => splitPredictions(plan, [Tensor.zeros([4, 2])])).toThrow(/expected 6 rows/)
    const separate = planStep(chain, ctx, { batchSize: 1, passes: "separate" })
    expect(() => splitPredictions(separate, [Tensor.zeros([1, 2]), Tensor.zeros([1, 3]), Tensor.zeros([1, 2])])).toThrow(/disagree/)
  })
})
