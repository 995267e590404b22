import { describe, expect, it } from "vitest"
import { GuidanceOptionsError, guidance } from "@pagkit/guidance"
import type { StepContext } from "@pagkit/guidance"
import { createFakeDenoiser } from "@pagkit/guidance/testing"
import { IDENTITY_ATTENTION, pag } from "./pag.js"

const f = Math.fround
const at = (stepIndex: number, timestep: number, numSteps = 5): StepContext => ({ stepIndex, numSteps, timestep })

describe("pag", () => {
  it("declares the identity-attention hook for its perturbed branch", () => {
    const middleware = pag({ scale: 3, layers: ["mid", "up.block_0", "mid"] })
    expect(middleware.hooks).toEqual([{ kind: IDENTITY_ATTENTION, targets: ["mid", "up.block_0"], branch: "pag" }])
    expect(middleware.branches(at(0, 801))).toEqual([
      { name: "cond", conditioning: "cond" },
      { name: "pag", conditioning: "cond", hooks: { [IDENTITY_ATTENTION]: ["mid", "up.block_0"] } },
    ])
    expect(pag({ layers: "blocks.1" }).options).toMatchObject({ scale: 3, layers: ["blocks.1"] })
  })

  it("alone computes c + s(c − p) from rows [cond, pag]", async () => {
    const fake = createFakeDenoiser({ rowShape: [4, 2, 2] })
    const out = await guidance(pag({ scale: 3, layers: ["mid"] })).step(at(0, 801), { batchSize: 2, denoise: fake.denoise })
    expect(fake.rows.map((r) => r.branch)).toEqual(["cond", "cond", "pag", "pag"])
    expect(fake.rows.map((r) => r.hooks[IDENTITY_ATTENTION] ?? [])).toEqual([[], [], ["mid"], ["mid"]])
    const c = fake.branchOutput("cond", undefined, 2).data
    const p = fake.branchOutput("cond", { [IDENTITY_ATTENTION]: ["mid"] }, 2).data
    expect([...out.data]).toEqual([...c].map((ci, i) => f(ci + f(3 * f(ci - p[i]!)))))
  })

  it("is skipped (no perturbed row) for scale 0, no layers, s_t = 0 or outside its window", () => {
    expect(pag({ scale: 0, layers: ["mid"] }).branches(at(0, 999))).toEqual([])
    expect(pag({ scale: 3, layers: [] }).branches(at(0, 999))).toEqual([])
    expect(pag({ scale: 3, layers: [] }).hooks).toEqual([])
    const adaptive = pag({ scale: 3, layers: ["mid"], adaptiveScale: 0.01 })
    expect(adaptive.scaleAt(at(0, 999))).toBeCloseTo(2.99, 6)
    expect(adaptive.branches(at(3, 700))).toEqual([]) // 3 − 0.01·300 = 0
    expect(adaptive.isActive(at(4, 1))).toBe(false)
    const windowed = pag({ scale: 3, layers: ["mid"], window: [0, 0.4] })
    expect([0, 1, 2, 3, 4].map((i) => windowed.isActive(at(i, 800)))).toEqual([true, true, false, false, false])
    expect(windowed.scaleAt(at(4, 800))).toBe(0)
  })

  it("passes the chain's prediction through when skipped", async () => {
    const fake = createFakeDenoiser({ rowShape: [3] })
    const out = await guidance(pag({ scale: 0, layers: ["mid"] })).step(at(0, 999), { batchSize: 1, denoise: fake.denoise })
    expect(fake.rows.map((r) => r.branch)).toEqual(["cond"])
    expect([...out.data]).toEqual([...fake.branchOutput("cond", undefined, 1).data])
  })

  it("changes layers by copy, so a chain can switch layers between runs", async () => {
    const first = pag({ scale: 2, layers: ["mid"] })
    const chain = guidance(first)
    const next = chain.with(first.withLayers(["down_blocks.2"]))
    expect(first.options.layers).toEqual(["mid"])
    expect(next.hooks).toEqual([{ kind: IDENTITY_ATTENTION, targets: ["down_blocks.2"], branch: "pag" }])
    const fake = createFakeDenoiser({ rowShape: [2] })
    await next.step(at(0, 999), { batchSize: 1, denoise: fake.denoise })
    expect(fake.rows[1]!.hooks).toEqual({ [IDENTITY_ATTENTION]: ["down_blocks.2"] })
    expect(first.with({ scale: 5 }).options.scale).toBe(5)
  })

  it("combines two differently named PAG middlewares additively", async () => {
    const fake = createFakeDenoiser({ rowShape: [4] })
    const chain = guidance(pag({ scale: 2, layers: ["mid"] }), pag({ scale: 1.5, layers: ["up"], name: "pag-up" }))
    const out = await chain.step(at(0, 999), { batchSize: 1, denoise: fake.denoise })
    expect(fake.rows.map((r) => r.branch)).toEqual(["cond", "pag", "pag-up"])
    const c = fake.branchOutput("cond", undefined, 1).data
    const p1 = fake.branchOutput("cond", { [IDENTITY_ATTENTION]: ["mid"] }, 1).data
    const p2 = fake.branchOutput("cond", { [IDENTITY_ATTENTION]: ["up"] }, 1).data
    expect([...out.data]).toEqual([...c].map((ci, i) => f(f(ci + f(2 * f(ci - p1[i]!))) + f(f(1.5) * f(ci - p2[i]!)))))
  })

  it("validates options once, in the factory", () => {
    expect(() => pag({ scale: -1, layers: ["mid"] })).toThrow(GuidanceOptionsError)
    expect(() => pag({ scale: 3, layers: [], adaptiveScale: 0.01 })).toThrow(/adaptiveScale/)
    expect(() => pag({ scale: 3, layers: ["mid"], adaptiveScale: -0.01 })).toThrow(/adaptiveScale/)
    expect(() => pag({ scale: 3, layers: ["mid"], window: [0.9, 0.1] })).toThrow(/empty/)
    expect(() => pag({ scale: 3, layers: [""] })).toThrow(/layer pattern/)
    expect(() => pag({ scale: 3 } as unknown as { layers: string[] })).toThrow(/required/)
    expect(() => pag({ scale: 3, layers: ["mid"], name: "cond" })).toThrow(/name/)
    expect(() => guidance(pag({ layers: ["mid"] }), pag({ layers: ["up"] }))).toThrow(/two middlewares are named "pag"/)
  })
})

describe("pag() as JSON", () => {
  it("round-trips through its JSON form and rejects unknown options", async () => {
    const { guidanceFromJSON } = await import("@pagkit/guidance")
    const original = pag({ scale: 2, layers: ["mid"], adaptiveScale: 0.01, window: [0, 0.5], name: "pag-early" })
    const json = JSON.parse(JSON.stringify(original.toJSON?.()))
    expect(json).toEqual({ name: "pag", as: "pag-early", scale: 2, layers: ["mid"], adaptiveScale: 0.01, window: [0, 0.5] })
    const back = guidanceFromJSON({ guidance: [json] }, { pag: (o) => pag(o as unknown as Parameters<typeof pag>[0]) })
    expect((back.middlewares[0] as ReturnType<typeof pag>).options).toEqual(original.options)
    expect(() => pag({ scale: 3, layers: ["mid"], pag_adaptive_scale: 1 } as never)).toThrow(/unknown option "pag_adaptive_scale"/)
  })
})
