import { describe, expect, it } from "vitest"
import type { Tensor } from "@pagkit/tensor"
import { guidance, runGuidedStep } from "./chain.js"
import { DuplicateMiddlewareError, GuidanceOptionsError, MissingPredictionError } from "./errors.js"
import { addPredictions, scaledDifference } from "./guidance-math.js"
import { Predictions } from "./predictions.js"
import { createFakeDenoiser } from "./testing.js"
import type { GuidanceMiddleware, StepContext } from "./types.js"

const ctx: StepContext = { stepIndex: 2, numSteps: 5, timestep: 401 }

/** Adds `scale · (c − branch)` where branch is the uncond rows: a toy additive term. */
function awayFromUncond(name: string, scale: number): GuidanceMiddleware {
  return {
    name,
    branches: () => [{ name: "uncond", conditioning: "uncond" }],
    combine: (prev, preds) => addPredictions(prev ?? preds.get("cond"), scaledDifference(scale, preds.get("cond"), preds.get("uncond"))),
  }
}

const values = (t: Tensor): number[] => [...(t.data as Float32Array)]

describe("guidance chain", () => {
  it("returns the plain conditional prediction when nothing guides, computing only cond rows", async () => {
    const fake = createFakeDenoiser({ rowShape: [2, 3] })
    const off: GuidanceMiddleware = { name: "off", branches: () => [], combine: (prev) => prev }
    const out = await guidance(off).step(ctx, { batchSize: 2, denoise: fake.denoise })
    expect(fake.rows.map((r) => r.branch)).toEqual(["cond", "cond"])
    expect(values(out)).toEqual(values(fake.branchOutput("cond", undefined, 2)))
  })

  it("folds terms in chain order, so terms add up instead of multiplying", async () => {
    const fake = createFakeDenoiser({ rowShape: [4] })
    const out = await guidance(awayFromUncond("a", 2), awayFromUncond("b", 3)).step(ctx, { batchSize: 1, denoise: fake.denoise })
    const c = values(fake.branchOutput("cond", undefined, 1))
    const u = values(fake.branchOutput("uncond", undefined, 1))
    const f = Math.fround
    const expected = c.map((ci, i) => f(f(ci + f(2 * f(ci - u[i]!))) + f(3 * f(ci - u[i]!))))
    expect(values(out)).toEqual(expected)
    expect(fake.rows.map((r) => r.branch)).toEqual(["uncond", "cond"]) // uncond computed once for both
  })

  it("runs finish steps after every combine, in chain order", () => {
    const order: string[] = []
    const make = (name: string): GuidanceMiddleware => ({
      name,
      branches: () => [],
      combine: (prev, preds) => (order.push(`combine ${name}`), prev ?? preds.get("cond")),
      finish: (guided) => (order.push(`finish ${name}`), guided),
    })
    const preds = new Predictions({ cond: createFakeDenoiser({ rowShape: [1] }).branchOutput("cond", undefined, 1) })
    guidance(make("x"), make("y")).combine(preds, ctx)
    expect(order).toEqual(["combine x", "combine y", "finish x", "finish y"])
  })

  it("gives identical results with batched and separate passes", async () => {
    const chain = guidance(awayFromUncond("a", 1.7))
    const batched = createFakeDenoiser({ rowShape: [3, 2, 2] })
    const separate = createFakeDenoiser({ rowShape: [3, 2, 2] })
    const a = await runGuidedStep(chain, ctx, { batchSize: 3, denoise: batched.denoise })
    const b = await runGuidedStep(chain, ctx, { batchSize: 3, passes: "separate", denoise: separate.denoise })
    expect(batched.passes).toHaveLength(1)
    expect(separate.passes).toHaveLength(2)
    expect(values(b)).toEqual(values(a))
    expect(b.shape).toEqual([3, 3, 2, 2])
  })

  it("rejects duplicate names and things that are not middlewares", () => {
    expect(() => guidance(awayFromUncond("a", 1), awayFromUncond("a", 2))).toThrow(DuplicateMiddlewareError)
    expect(() => guidance({} as GuidanceMiddleware)).toThrow(GuidanceOptionsError)
  })

  it("replaces, appends and removes middlewares immutably", () => {
    const chain = guidance(awayFromUncond("a", 1))
    const replaced = chain.with(awayFromUncond("a", 5))
    expect(replaced.middlewares).toHaveLength(1)
    expect(replaced.get("a")).not.toBe(chain.get("a"))
    expect(chain.with(awayFromUncond("b", 1)).middlewares.map((m) => m.name)).toEqual(["a", "b"])
    expect(chain.without("a").middlewares).toHaveLength(0)
    expect(chain.middlewares).toHaveLength(1)
  })

  it("tells which conditionings a run needs", () => {
    const onlyEarly: GuidanceMiddleware = {
      ...awayFromUncond("early", 2),
      branches: (c) => (c.stepIndex < 2 ? [{ name: "uncond", conditioning: "uncond" }] : []),
    }
    const steps = (from: number, to: number): StepContext[] =>
      Array.from({ length: to - from }, (_, i) => ({ stepIndex: from + i, numSteps: 5, timestep: 0 }))
    expect(guidance(onlyEarly).conditionings(steps(0, 5))).toEqual(["uncond", "cond"])
    expect(guidance(onlyEarly).conditionings(steps(2, 5))).toEqual(["cond"])
    expect(guidance().conditionings(steps(0, 5))).toEqual(["cond"])
  })

  it("collects declared hooks", () => {
    const hooked: GuidanceMiddleware = {
      name: "h",
      hooks: [{ kind: "identity-attention", targets: ["mid"], branch: "p" }],
      branches: () => [],
      combine: (prev) => prev,
    }
    expect(guidance(awayFromUncond("a", 1), hooked).hooks).toEqual([{ kind: "identity-attention", targets: ["mid"], branch: "p" }])
  })

  it("says which predictions exist when a middleware reads a missing one", () => {
    const preds = new Predictions(new Map([["cond", createFakeDenoiser({ rowShape: [1] }).branchOutput("cond", undefined, 1)]]))
    expect(() => preds.get("pag")).toThrow(MissingPredictionError)
    expect(() => preds.get("pag")).toThrow(/computed: "cond"/)
    expect(preds.has("cond")).toBe(true)
  })
})
