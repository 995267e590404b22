// SLG against an element-wise float32 transcription of diffusers' SkipLayerGuidance.forward / _is_slg_enabled
// (guiders/skip_layer_guidance.py) and the SD3 pipeline's window, over random settings.
import { describe, expect, it } from "vitest"
import { GuidanceOptionsError, guidance, guidanceFromJSON } from "@pagkit/guidance"
import type { StepContext } from "@pagkit/guidance"
import { createFakeDenoiser } from "@pagkit/guidance/testing"
import { cfg } from "@pagkit/guidance-cfg"
import { pag } from "@pagkit/guidance-pag"
import { BLOCK_SKIP, slg } from "./slg.js"

const f = Math.fround

function prng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 4294967296
  }
}

/** diffusers: which predictions are enabled, and `forward` written out per element in float32. */
function reference(o: { g: number; s: number; start: number; stop: number; original: boolean; rule: "guider" | "sd3" }, ctx: StepContext, u: number, c: number, cs: number) {
  const cfgOn = ctx.stepIndex >= 0 && Math.abs(o.g - 1) > 1e-9 && o.g > 1
  const slgOn =
    o.s !== 0 &&
    (o.rule === "guider"
      ? Math.trunc(o.start * ctx.numSteps) < ctx.stepIndex && ctx.stepIndex < Math.trunc(o.stop * ctx.numSteps)
      : ctx.stepIndex > ctx.numSteps * o.start && ctx.stepIndex < ctx.numSteps * o.stop)
  let pred: number
  if (!cfgOn && !slgOn) pred = c
  else if (!cfgOn) pred = f((o.original ? c : cs) + f(f(o.s) * f(c - cs)))
  else if (!slgOn) pred = f(u + f(f(o.g) * f(c - u)))
  else pred = f(f(u + f(f(o.g) * f(c - u))) + f(f(o.s) * f(c - cs)))
  return { pred, slgOn, cfgOn }
}

describe("slg", () => {
  it("declares the block-skip hook on its branch, with indices as anchored DiT block patterns", () => {
    const m = slg({ layers: [7, "mid"] })
    expect(m.hooks).toEqual([{ kind: BLOCK_SKIP, targets: ["^transformer_blocks\\.7$", "mid"], branch: "slg" }])
    expect(m.options).toMatchObject({ scale: 2.8, window: [0.01, 0.2], windowRule: "guider", useOriginalFormulation: false })
  })

  it("matches diffusers' guider (and the SD3 window) on every mode, with CFG in the chain or alone", async () => {
    const rand = prng(11)
    for (let trial = 0; trial < 300; trial++) {
      const o = {
        g: [1, 5, 1 + rand() * 8][Math.floor(rand() * 3)]!,
        s: [0, 2.8, rand() * 5][Math.floor(rand() * 3)]!,
        start: [0, 0.01, 0.1][Math.floor(rand() * 3)]!,
        stop: [0.2, 0.8, 1][Math.floor(rand() * 3)]!,
        original: rand() < 0.5,
        rule: (rand() < 0.5 ? "guider" : "sd3") as "guider" | "sd3",
      }
      const numSteps = 1 + Math.floor(rand() * 40)
      const ctx: StepContext = { stepIndex: Math.floor(rand() * numSteps), numSteps, timestep: 500 }
      const middleware = slg({ scale: o.s, layers: ["mid"], window: [o.start, o.stop], windowRule: o.rule, useOriginalFormulation: o.original })
      const chain = guidance(cfg({ scale: o.g }), middleware)
      const fake = createFakeDenoiser({ rowShape: [3], seed: trial })
      const out = await chain.step(ctx, { batchSize: 2, denoise: fake.denoise })
      const u = fake.branchOutput("uncond", undefined, 2).data
      const c = fake.branchOutput("cond", undefined, 2).data
      const cs = fake.branchOutput("cond", { [BLOCK_SKIP]: ["mid"] }, 2).data
      for (let i = 0; i < out.data.length; i++) {
        const ref = reference(o, ctx, u[i]!, c[i]!, cs[i]!)
        expect(out.data[i], `trial ${trial} ${JSON.stringify(o)} step ${ctx.stepIndex}/${numSteps}`).toBe(ref.pred)
      }
      const rows = fake.rows.map((r) => r.branch)
      const ref = reference(o, ctx, 0, 0, 0)
      expect(rows.includes("slg")).toBe(ref.slgOn)
      expect(rows.includes("uncond")).toBe(ref.cfgOn)
    }
  })

  it("batches with CFG and PAG in one call: rows [uncond, cond, pag, slg]", async () => {
    const chain = guidance(cfg({ scale: 5 }), pag({ scale: 3, layers: ["mid"] }), slg({ scale: 2, layers: ["up"], window: [0, 1] }))
    const fake = createFakeDenoiser({ rowShape: [2] })
    await chain.step({ stepIndex: 3, numSteps: 10, timestep: 700 }, { batchSize: 1, denoise: fake.denoise })
    expect(fake.passes).toHaveLength(1)
    expect(fake.rows.map((r) => r.branch)).toEqual(["uncond", "cond", "pag", "slg"])
  })

  it("round-trips through JSON and names bad options", () => {
    const m = slg({ scale: 2, layers: [7, 8], window: [0.1, 0.3], windowRule: "sd3", name: "slg-late" })
    const json = JSON.parse(JSON.stringify(m.toJSON?.()))
    const back = guidanceFromJSON({ guidance: [json] }, { slg: (o) => slg(o as never) })
    expect((back.middlewares[0] as ReturnType<typeof slg>).options).toEqual(m.options)
    expect(() => slg({ layers: [] })).toThrow(/list is empty/)
    expect(() => slg({ layers: [1.5] })).toThrow(GuidanceOptionsError)
    expect(() => slg({ layers: ["mid"], skip_layer_guidance_scale: 3 } as never)).toThrow(/unknown option "skip_layer_guidance_scale"/)
  })
})
