import { describe, expect, it } from "vitest"
import { GuidanceOptionsError, Predictions, guidance } from "@pagkit/guidance"
import type { StepContext } from "@pagkit/guidance"
import { createFakeDenoiser } from "@pagkit/guidance/testing"
import { cfg, rescaleNoiseCfg } from "@pagkit/guidance-cfg"
import { IDENTITY_ATTENTION, pag } from "@pagkit/guidance-pag"
import { Tensor, TorchGenerator } from "@pagkit/tensor"
import { apg } from "./apg.js"
import { normalizedGuidance } from "./normalized-guidance.js"

const f = Math.fround
const at = (stepIndex: number, numSteps = 10): StepContext => ({ stepIndex, numSteps, timestep: 1000 - 100 * stepIndex })
const rows = (t: Tensor, start: number, count: number): Tensor =>
  new Tensor("float32", (t.data as Float32Array).slice(start * (t.size / t.shape[0]!), (start + count) * (t.size / t.shape[0]!)), [count, ...t.shape.slice(1)])

function randomPreds(seed: number, shape: number[]): Predictions {
  const generator = new TorchGenerator(seed)
  return new Predictions({ cond: generator.randn(shape), uncond: generator.randn(shape) })
}

describe("apg", () => {
  it("has diffusers' defaults and asks for [uncond, cond] rows", async () => {
    const middleware = apg()
    expect(middleware.options).toEqual({
      scale: 7.5, momentum: null, normThreshold: 15, normDim: null, eta: 1, rescale: 0,
      useOriginalFormulation: false, formulation: "paper", window: [0, 1], enabled: true,
    })
    const fake = createFakeDenoiser({ rowShape: [4, 3, 3] })
    const out = await guidance(apg({ scale: 5, eta: 0 })).step(at(0), { batchSize: 2, denoise: fake.denoise })
    expect(fake.rows.map((r) => r.branch)).toEqual(["uncond", "uncond", "cond", "cond"])
    const c = fake.branchOutput("cond", undefined, 2)
    const u = fake.branchOutput("uncond", undefined, 2)
    const expected = normalizedGuidance(c, u, { ...apg({ scale: 5, eta: 0 }).options, previousAverage: undefined }).guided
    expect([...out.data]).toEqual([...expected.data])
  })

  it("is off (returns prev, no uncond row) outside its window, when disabled, or for a neutral scale", async () => {
    const off = [apg({ scale: 1 }), apg({ scale: 0, useOriginalFormulation: true }), apg({ enabled: false }), apg({ window: [0.5, 1] })]
    for (const middleware of off) {
      expect(middleware.branches(at(2))).toEqual([])
      const fake = createFakeDenoiser({ rowShape: [3] })
      const out = await guidance(middleware).step(at(2), { batchSize: 1, denoise: fake.denoise })
      expect(fake.rows.map((r) => r.branch)).toEqual(["cond"])
      expect([...out.data]).toEqual([...fake.branchOutput("cond", undefined, 1).data])
      const prev = Tensor.fromArray([1, 2, 3], [1, 3])
      expect(middleware.combine(prev, new Predictions({ cond: prev }), at(2))).toBe(prev)
    }
    // diffusers guides with g = 0 in its own formulation (u + 0·update = u): not neutral there
    expect(apg({ scale: 0 }).isActive(at(0))).toBe(true)
    const windowed = apg({ window: [0.2, 0.6] })
    expect(Array.from({ length: 10 }, (_, i) => windowed.isActive(at(i)))).toEqual([false, false, true, true, true, true, false, false, false, false])
  })

  it("keeps shapes and treats the images of a batch independently (random inputs)", () => {
    for (const seed of [1, 2, 3]) {
      const preds = randomPreds(seed, [3, 4, 5, 6])
      const middleware = apg({ scale: 4 + seed, eta: seed / 4, normThreshold: seed })
      const whole = middleware.combine(undefined, preds, at(1))!
      expect(whole.shape).toEqual([3, 4, 5, 6])
      for (let b = 0; b < 3; b++) {
        const single = new Predictions({ cond: rows(preds.get("cond"), b, 1), uncond: rows(preds.get("uncond"), b, 1) })
        expect([...middleware.combine(undefined, single, at(1))!.data]).toEqual([...rows(whole, b, 1).data])
      }
    }
  })

  it("resets momentum at step 0, so a reused middleware gives the same run twice", () => {
    const middleware = apg({ scale: 6, momentum: -0.5, eta: 0, normThreshold: 2 })
    const run = (): unknown[][] => Array.from({ length: 4 }, (_, i) => [...middleware.combine(undefined, randomPreds(10 + i, [2, 4, 4, 4]), at(i, 4))!.data])
    const first = run()
    const second = run()
    expect(second).toEqual(first)
    // step 1 uses the buffer from step 0: differs from a run without momentum
    const plain = apg({ scale: 6, eta: 0, normThreshold: 2 }).combine(undefined, randomPreds(11, [2, 4, 4, 4]), at(1, 4))!
    expect(first[1]).not.toEqual([...plain.data])
    // and a fresh value from toJSON() gives the same run
    const copy = apg(middleware.toJSON())
    expect(Array.from({ length: 4 }, (_, i) => [...copy.combine(undefined, randomPreds(10 + i, [2, 4, 4, 4]), at(i, 4))!.data])).toEqual(first)
  })

  it("follows diffusers' MomentumBuffer step by step, and recomputes a repeated step from the same buffer", () => {
    const options = { scale: 6, momentum: 0.3, eta: 0.5, normThreshold: 0 } as const
    const middleware = apg(options)
    let average: Tensor | undefined
    for (let i = 0; i < 3; i++) {
      const preds = randomPreds(30 + i, [1, 2, 3, 3])
      const expected = normalizedGuidance(preds.get("cond"), preds.get("uncond"), {
        ...middleware.options, previousAverage: average as never,
      })
      expect([...middleware.combine(undefined, preds, at(i, 3))!.data]).toEqual([...expected.guided.data])
      expect([...middleware.combine(undefined, preds, at(i, 3))!.data]).toEqual([...expected.guided.data]) // same step again
      average = expected.runningAverage
    }
  })

  it("updates momentum only on guided steps, as diffusers does outside start/stop", () => {
    const middleware = apg({ scale: 6, momentum: 0.5, normThreshold: 0, window: [0.5, 1] })
    const preds = (i: number): Predictions => randomPreds(50 + i, [1, 2, 2, 2])
    for (let i = 0; i < 2; i++) middleware.combine(undefined, preds(i), at(i, 4))
    const fresh = normalizedGuidance(preds(2).get("cond"), preds(2).get("uncond"), { ...middleware.options, previousAverage: undefined })
    expect([...middleware.combine(undefined, preds(2), at(2, 4))!.data]).toEqual([...fresh.guided.data])
  })

  it("refuses two runs interleaved on one value", () => {
    const middleware = apg({ momentum: -0.5 })
    middleware.combine(undefined, randomPreds(1, [1, 2]), at(0))
    middleware.combine(undefined, randomPreds(1, [1, 2]), at(1))
    expect(() => middleware.combine(undefined, randomPreds(1, [1, 2]), at(5))).toThrow(/one run at a time/)
  })

  it("applies guidance_rescale in finish, against c, only where it guides", async () => {
    const fake = createFakeDenoiser({ rowShape: [4, 3, 3] })
    const out = await guidance(apg({ scale: 6, rescale: 0.7, window: [0, 0.5] })).step(at(0), { batchSize: 2, denoise: fake.denoise })
    const plain = await guidance(apg({ scale: 6 })).step(at(0), { batchSize: 2, denoise: fake.denoise })
    expect([...out.data]).toEqual([...rescaleNoiseCfg(plain, fake.branchOutput("cond", undefined, 2), 0.7).data])
    const off = await guidance(apg({ scale: 6, rescale: 0.7, window: [0, 0.5] })).step(at(8), { batchSize: 2, denoise: fake.denoise })
    expect([...off.data]).toEqual([...fake.branchOutput("cond", undefined, 2).data])
  })

  it("composes with pag() in one batched call, sharing cond and adding s(c − p)", async () => {
    const fake = createFakeDenoiser({ rowShape: [4, 2, 2] })
    const chain = guidance(apg({ scale: 5, eta: 0 }), pag({ scale: 2, layers: ["mid"] }))
    const out = await chain.step(at(0), { batchSize: 2, denoise: fake.denoise })
    expect(fake.passes).toHaveLength(1)
    expect(fake.rows.map((r) => r.branch)).toEqual(["uncond", "uncond", "cond", "cond", "pag", "pag"])
    const c = fake.branchOutput("cond", undefined, 2)
    const u = fake.branchOutput("uncond", undefined, 2)
    const p = fake.branchOutput("cond", { [IDENTITY_ATTENTION]: ["mid"] }, 2).data
    const guided = normalizedGuidance(c, u, { ...apg({ scale: 5, eta: 0 }).options, previousAverage: undefined }).guided.data
    expect([...out.data]).toEqual([...guided].map((g, i) => f(g + f(2 * f(c.data[i]! - p[i]!)))))
    const separate = createFakeDenoiser({ rowShape: [4, 2, 2] })
    const again = await chain.step(at(0), { batchSize: 2, passes: "separate", denoise: separate.denoise })
    expect(separate.passes).toHaveLength(3)
    expect([...again.data]).toEqual([...out.data])
  })

  it("after cfg() in a chain, adds its offset from c (rows deduplicated)", async () => {
    const fake = createFakeDenoiser({ rowShape: [6] })
    const out = await guidance(cfg({ scale: 3 }), apg({ scale: 5, eta: 0 })).step(at(0), { batchSize: 1, denoise: fake.denoise })
    expect(fake.rows.map((r) => r.branch)).toEqual(["uncond", "cond"])
    const c = fake.branchOutput("cond", undefined, 1).data
    const u = fake.branchOutput("uncond", undefined, 1).data
    const cfgOut = [...u].map((ui, i) => f(ui + f(3 * f(c[i]! - ui))))
    const apgOut = normalizedGuidance(Tensor.fromArray(c, [1, 6]), Tensor.fromArray(u, [1, 6]), { ...apg({ scale: 5, eta: 0 }).options, previousAverage: undefined }).guided.data
    expect([...out.data]).toEqual(cfgOut.map((v, i) => f(v + f(apgOut[i]! - c[i]!))))
  })

  it("round-trips through toJSON()", () => {
    const middleware = apg({ scale: 9, momentum: -0.5, normThreshold: 4, normDim: -1, eta: 0, rescale: 0.3, window: [0.1, 0.9], formulation: "diffusers" })
    const json = middleware.toJSON()
    expect(json).toEqual({
      name: "apg", scale: 9, momentum: -0.5, normThreshold: 4, normDim: [-1], eta: 0, rescale: 0.3,
      useOriginalFormulation: false, formulation: "diffusers", window: [0.1, 0.9], enabled: true,
    })
    expect(JSON.parse(JSON.stringify(json))).toEqual(json)
    const { name: _name, ...options } = json
    expect(apg(options).toJSON()).toEqual(json)
    expect(apg(JSON.parse(JSON.stringify(json))).toJSON()).toEqual(json)
  })

  it("validates options once, naming unknown keys and diffusers' names", () => {
    expect(() => apg({ guidance_scale: 5 } as never)).toThrow(GuidanceOptionsError)
    expect(() => apg({ guidance_scale: 5 } as never)).toThrow(/unknown option "guidance_scale" \(did you mean "scale"\?\). Valid options: scale, momentum/)
    expect(() => apg({ adaptive_projected_guidance_rescale: 5 } as never)).toThrow(/did you mean "normThreshold"/)
    expect(() => apg({ use_original_formulation: true } as never)).toThrow(/did you mean "useOriginalFormulation"/)
    expect(() => apg({ start: 0.1 } as never)).toThrow(/did you mean "window"/)
    expect(() => apg({ etaa: 0 } as never)).toThrow(/did you mean "eta"/)
    expect(() => apg({ name: "cfg" } as never)).toThrow(/expected "apg"/)
    expect(() => apg({ normThreshold: -1 })).toThrow(/normThreshold/)
    expect(() => apg({ normDim: [1.5] })).toThrow(/normDim/)
    expect(() => apg({ scale: Number.NaN })).toThrow(/scale/)
    expect(() => apg({ formulation: "x" as never })).toThrow(/formulation/)
    expect(() => apg({ window: [0.5, 0.5] })).toThrow(/empty/)
    expect(() => apg(null as never)).toThrow(/options object/)
  })
})
