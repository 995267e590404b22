// SEG against an element-wise float32 transcription of diffusers' SmoothedEnergyGuidance.forward / _is_seg_enabled
// (guiders/smoothed_energy_guidance.py); the perturbation itself is tested with the query-blur kind in @pagkit/onnx.
import { describe, expect, it } from "vitest"
import { guidance, guidanceFromJSON } from "@pagkit/guidance"
import type { StepContext } from "@pagkit/guidance"
import { createFakeDenoiser } from "@pagkit/guidance/testing"
import { cfg } from "@pagkit/guidance-cfg"
import { pag } from "@pagkit/guidance-pag"
import { QUERY_BLUR, seg } from "./seg.js"

const f = Math.fround

function prng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 4294967296
  }
}

describe("seg", () => {
  it("asks for blurred cond rows with σ as the hook's value (∞ above the threshold)", () => {
    const sharp = seg({ layers: ["mid"], blurSigma: 10 })
    expect(sharp.branches({ stepIndex: 5, numSteps: 10, timestep: 1 })[1]).toEqual({
      name: "seg",
      conditioning: "cond",
      hooks: { [QUERY_BLUR]: { layers: ["mid"], value: 10 } },
    })
    expect(seg({ layers: ["mid"] }).sigma).toBe(Number.POSITIVE_INFINITY) // default 9999999 > 9999
    expect(seg({ layers: ["mid"], blurSigma: 50, blurThresholdInf: 20 }).sigma).toBe(Number.POSITIVE_INFINITY)
    expect(seg({ layers: [7] }).hooks[0]!.targets).toEqual(["^transformer_blocks\\.7\\.attn1$"])
  })

  it("matches diffusers' forward and window on every mode", async () => {
    const rand = prng(5)
    for (let trial = 0; trial < 300; trial++) {
      const g = [1, 5, 1 + rand() * 8][Math.floor(rand() * 3)]!
      const s = [0, 2.8, rand() * 5][Math.floor(rand() * 3)]!
      const [start, stop] = [[0, 1], [0.2, 0.6], [0, 0.5]][Math.floor(rand() * 3)] as [number, number]
      const original = rand() < 0.5
      const numSteps = 1 + Math.floor(rand() * 30)
      const ctx: StepContext = { stepIndex: Math.floor(rand() * numSteps), numSteps, timestep: 321 }
      const m = seg({ scale: s, blurSigma: 3, layers: ["mid"], window: [start, stop], useOriginalFormulation: original })
      const fake = createFakeDenoiser({ rowShape: [2, 2], seed: trial })
      const out = await guidance(cfg({ scale: g }), m).step(ctx, { batchSize: 1, denoise: fake.denoise })
      const u = fake.branchOutput("uncond", undefined, 1).data
      const c = fake.branchOutput("cond", undefined, 1).data
      const cg = fake.branchOutput("cond", { [QUERY_BLUR]: { layers: ["mid"], value: 3 } }, 1).data
      const segOn = s !== 0 && Math.trunc(start * numSteps) < ctx.stepIndex && ctx.stepIndex < Math.trunc(stop * numSteps)
      const cfgOn = g > 1
      for (let i = 0; i < out.data.length; i++) {
        const ui = u[i]!
        const ci = c[i]!
        const gi = cg[i]!
        let pred: number
        if (!cfgOn && !segOn) pred = ci
        else if (!cfgOn) pred = f((original ? ci : gi) + f(f(s) * f(ci - gi)))
        else if (!segOn) pred = f(ui + f(f(g) * f(ci - ui)))
        else pred = f(f(ui + f(f(g) * f(ci - ui))) + f(f(s) * f(ci - gi)))
        expect(out.data[i], `trial ${trial}`).toBe(pred)
      }
      expect(fake.rows.some((r) => r.branch === "seg")).toBe(segOn)
    }
  })

  it("composes with CFG and PAG in one batched call, and separately with the same numbers", async () => {
    const chain = guidance(cfg({ scale: 5 }), pag({ scale: 3, layers: ["mid"] }), seg({ scale: 3, blurSigma: 10, layers: ["mid"] }))
    const ctx = { stepIndex: 2, numSteps: 10, timestep: 800 }
    const batched = createFakeDenoiser({ rowShape: [4] })
    const a = await chain.step(ctx, { batchSize: 2, denoise: batched.denoise })
    expect([...new Set(batched.rows.map((r) => r.branch))]).toEqual(["uncond", "cond", "pag", "seg"])
    const separate = createFakeDenoiser({ rowShape: [4] })
    const b = await chain.step(ctx, { batchSize: 2, passes: "separate", denoise: separate.denoise })
    expect(separate.passes).toHaveLength(4)
    expect(Array.from(b.data as Float32Array)).toEqual(Array.from(a.data as Float32Array))
  })

  it("round-trips through JSON", () => {
    const m = seg({ scale: 3, blurSigma: 10, layers: ["mid"], window: [0, 0.5] })
    const back = guidanceFromJSON({ guidance: [JSON.parse(JSON.stringify(m.toJSON?.()))] }, { seg: (o) => seg(o as never) })
    expect((back.middlewares[0] as ReturnType<typeof seg>).options).toEqual(m.options)
    expect(() => seg({ layers: ["mid"], blurSigma: -1 })).toThrow(/blurSigma/)
  })
})
