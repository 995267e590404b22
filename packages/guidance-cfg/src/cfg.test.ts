import { describe, expect, it } from "vitest"
import { GuidanceOptionsError, guidance } from "@pagkit/guidance"
import type { StepContext } from "@pagkit/guidance"
import { createFakeDenoiser } from "@pagkit/guidance/testing"
import { cfg } from "./cfg.js"
import { rescaleNoiseCfg } from "./rescale.js"

const f = Math.fround
const at = (stepIndex: number, numSteps = 10): StepContext => ({ stepIndex, numSteps, timestep: 1000 - 100 * stepIndex })

describe("cfg", () => {
  it("computes u + g(c − u) in diffusers' float32 order, with rows [uncond, cond]", async () => {
    const fake = createFakeDenoiser({ rowShape: [4, 2, 2] })
    const out = await guidance(cfg({ scale: 7.5 })).step(at(0), { batchSize: 2, denoise: fake.denoise })
    expect(fake.rows.map((r) => r.branch)).toEqual(["uncond", "uncond", "cond", "cond"])
    const u = fake.branchOutput("uncond", undefined, 2).data
    const c = fake.branchOutput("cond", undefined, 2).data
    expect([...out.data]).toEqual([...u].map((ui, i) => f(ui + f(f(7.5) * f(c[i]! - ui)))))
  })

  it("is off for g <= 1: passes c through and computes no uncond row", async () => {
    for (const scale of [0, 0.5, 1]) {
      const fake = createFakeDenoiser({ rowShape: [3] })
      const out = await guidance(cfg({ scale })).step(at(0), { batchSize: 1, denoise: fake.denoise })
      expect(fake.rows.map((r) => r.branch)).toEqual(["cond"])
      expect([...out.data]).toEqual([...fake.branchOutput("cond", undefined, 1).data])
    }
  })

  it("guides only inside its window", () => {
    const middleware = cfg({ scale: 5, window: [0.2, 0.6] })
    expect(Array.from({ length: 10 }, (_, i) => middleware.isActive(at(i)))).toEqual([
      false, false, true, true, true, true, false, false, false, false,
    ])
    expect(middleware.branches(at(0))).toEqual([])
    expect(middleware.branches(at(3)).map((b) => b.name)).toEqual(["uncond", "cond"])
  })

  it("rescales against c when on, and not when off", async () => {
    const fake = createFakeDenoiser({ rowShape: [4, 3, 3] })
    const chain = guidance(cfg({ scale: 6, rescale: 0.7, window: [0, 0.5] }))
    const on = await chain.step(at(0), { batchSize: 2, denoise: fake.denoise })
    const plain = await guidance(cfg({ scale: 6 })).step(at(0), { batchSize: 2, denoise: fake.denoise })
    const c = fake.branchOutput("cond", undefined, 2)
    expect([...on.data]).toEqual([...rescaleNoiseCfg(plain, c, 0.7).data])
    const off = await chain.step(at(7), { batchSize: 2, denoise: fake.denoise })
    expect([...off.data]).toEqual([...c.data])
  })

  it("validates options once, in the factory", () => {
    expect(() => cfg({ scale: -1 })).toThrow(GuidanceOptionsError)
    expect(() => cfg({ scale: 5, rescale: -0.1 })).toThrow(/rescale/)
    expect(() => cfg({ scale: 5, window: [0.5, 0.5] })).toThrow(/empty/)
    expect(() => cfg({ scale: 5, window: [0, 2] })).toThrow(/\[0, 1\]/)
    expect(() => cfg({} as { scale: number })).toThrow(/required/)
  })

  it("copies with changed options", () => {
    const base = cfg({ scale: 5, rescale: 0.3 })
    const changed = base.with({ scale: 9 })
    expect(changed.options).toEqual({ scale: 9, rescale: 0.3, window: [0, 1] })
    expect(base.options.scale).toBe(5)
    expect(() => base.with({ scale: -2 })).toThrow(GuidanceOptionsError)
  })
})

describe("cfg() as JSON", () => {
  it("round-trips and names unknown options with a did-you-mean", () => {
    const original = cfg({ scale: 7, rescale: 0.5, window: [0.1, 0.9] })
    expect(JSON.parse(JSON.stringify(original.toJSON?.()))).toEqual({ name: "cfg", scale: 7, rescale: 0.5, window: [0.1, 0.9] })
    const { name: _name, ...options } = original.toJSON!()
    expect(cfg(options as never).options).toEqual(original.options)
    expect(() => cfg({ scale: 5, guidance_rescale: 0.7 } as never)).toThrow(GuidanceOptionsError)
    expect(() => cfg({ scale: 5, guidance_rescale: 0.7 } as never)).toThrow(/"guidance_rescale" \(did you mean "rescale"\?\)|"guidance_rescale"/)
  })
})
