import { describe, expect, it } from "vitest"
import { GuidanceOptionsError, Predictions, guidance } from "@pagkit/guidance"
import type { StepContext } from "@pagkit/guidance"
import { createFakeDenoiser } from "@pagkit/guidance/testing"
import { cfg, rescaleNoiseCfg } from "@pagkit/guidance-cfg"
import { IDENTITY_ATTENTION, pag } from "@pagkit/guidance-pag"
import { Tensor, TorchGenerator } from "@pagkit/tensor"
import { fdg } from "./fdg.js"
import { frequencyDecoupledGuidance } from "./frequency-decoupled.js"
import type { FdgLevelsOptions } from "./frequency-decoupled.js"
import { f, maxRelError, referenceFdg } from "./kornia-reference.test-helpers.js"

const at = (stepIndex: number, numSteps = 10): StepContext => ({ stepIndex, numSteps, timestep: 1000 - 100 * stepIndex })

function randomPreds(seed: number, shape: number[]): [Tensor<"float32">, Tensor<"float32">] {
  const generator = new TorchGenerator(seed)
  const cond = generator.randn(shape)
  const uncond = generator.randn(shape)
  for (let i = 0; i < uncond.size; i++) uncond.data[i] = f(0.8 * cond.data[i]! + 0.3 * uncond.data[i]!)
  return [cond, uncond]
}

const defaults: FdgLevelsOptions = {
  scales: [10, 5], parallelWeights: [1, 1], rescale: [0, 0], rescaleSpace: "data", useOriginalFormulation: false, upcastToDouble: true, activeLevels: [true, true],
}

describe("frequencyDecoupledGuidance against a transcription of diffusers + kornia", () => {
  const cases: { name: string; shape: number[]; options: Partial<FdgLevelsOptions> }[] = [
    { name: "diffusers defaults", shape: [2, 4, 16, 16], options: {} },
    { name: "parallel weights", shape: [2, 4, 16, 16], options: { parallelWeights: [0.5, 0] } },
    { name: "three levels, original formulation", shape: [1, 4, 16, 16], options: { scales: [8, 4, 2], parallelWeights: [1, 0.3, 1], rescale: [0, 0, 0], activeLevels: [true, true, true], useOriginalFormulation: true } },
    { name: "a level outside its window keeps c", shape: [1, 3, 16, 16], options: { activeLevels: [true, false] } },
    { name: "freq-space rescale", shape: [2, 2, 16, 16], options: { rescale: [0.7, 0.3], rescaleSpace: "freq" } },
    { name: "padded size (kornia pads 12 × 20)", shape: [1, 2, 12, 20], options: { parallelWeights: [0.5, 0.5] } },
  ]
  for (const [seed, testCase] of cases.entries()) {
    it(testCase.name, () => {
      const [cond, uncond] = randomPreds(seed, testCase.shape)
      const options = { ...defaults, ...testCase.options }
      const ours = frequencyDecoupledGuidance(cond, uncond, options)
      expect(ours.shape).toEqual(testCase.shape)
      let theirs = referenceFdg(cond, uncond, {
        guidanceScales: [...options.scales], parallelWeights: [...options.parallelWeights], guidanceRescale: [...options.rescale],
        guidanceRescaleSpace: options.rescaleSpace, useOriginalFormulation: options.useOriginalFormulation, enabledLevels: [...options.activeLevels],
      })
      if (theirs.size !== ours.size) {
        // diffusers returns the padded size here; compare the input's window (pagkit crops to it)
        const [, , h, w] = testCase.shape as [number, number, number, number]
        const [, , H, W] = theirs.shape as number[] as [number, number, number, number]
        const cropped = Float32Array.from({ length: ours.size }, (_, k) => {
          const plane = Math.floor(k / (h * w))
          return theirs.data[(plane * H + Math.floor((k % (h * w)) / w)) * W + (k % w)]!
        })
        theirs = new Tensor("float32", cropped, testCase.shape)
      }
      expect(maxRelError(ours.data, theirs.data)).toBeLessThan(3e-6)
    })
  }

  it("one level is plain CFG; equal scales with weight 1 are CFG up to rounding", () => {
    const [cond, uncond] = randomPreds(11, [1, 2, 8, 8])
    const cfgOut = cond.data.map((c, i) => f(uncond.data[i]! + f(f(7) * f(c - uncond.data[i]!))))
    const one = frequencyDecoupledGuidance(cond, uncond, { ...defaults, scales: [7], parallelWeights: [1], rescale: [0], activeLevels: [true] })
    expect([...one.data]).toEqual([...cfgOut])
    const two = frequencyDecoupledGuidance(cond, uncond, { ...defaults, scales: [7, 7] })
    expect(maxRelError(two.data, cfgOut)).toBeLessThan(1e-5)
  })

  it("projects without upcast in float32 when asked (close to the float64 result)", () => {
    const [cond, uncond] = randomPreds(12, [1, 2, 16, 16])
    const up = frequencyDecoupledGuidance(cond, uncond, { ...defaults, parallelWeights: [0, 0.5] })
    const down = frequencyDecoupledGuidance(cond, uncond, { ...defaults, parallelWeights: [0, 0.5], upcastToDouble: false })
    expect(maxRelError(down.data, up.data)).toBeLessThan(1e-5)
  })
})

describe("fdg middleware", () => {
  it("has diffusers' defaults and guides from rows [uncond, cond]", async () => {
    expect(fdg().options).toEqual({
      scales: [10, 5], rescale: [0, 0], parallelWeights: [1, 1], useOriginalFormulation: false,
      window: [[0, 1], [0, 1]], rescaleSpace: "data", upcastToDouble: true, enabled: true,
    })
    const fake = createFakeDenoiser({ rowShape: [4, 8, 8] })
    const out = await guidance(fdg()).step(at(0), { batchSize: 2, denoise: fake.denoise })
    expect(fake.rows.map((r) => r.branch)).toEqual(["uncond", "uncond", "cond", "cond"])
    const c = fake.branchOutput("cond", undefined, 2)
    const u = fake.branchOutput("uncond", undefined, 2)
    expect([...out.data]).toEqual([...frequencyDecoupledGuidance(c, u, defaults).data])
  })

  it("guides each level in its own window and is off (no uncond row) when no level guides", async () => {
    const middleware = fdg({ scales: [10, 5], window: [[0, 0.5], [0.3, 0.6]] })
    expect([0, 3, 5, 7].map((i) => middleware.activeLevels(at(i)))).toEqual([[true, false], [true, true], [false, true], [false, false]])
    for (const off of [fdg({ scales: [1, 1] }), fdg({ scales: [0, 0], useOriginalFormulation: true }), fdg({ enabled: false }), middleware]) {
      const fake = createFakeDenoiser({ rowShape: [2, 8, 8] })
      const out = await guidance(off).step(at(7), { batchSize: 1, denoise: fake.denoise })
      expect(fake.rows.map((r) => r.branch)).toEqual(["cond"])
      expect([...out.data]).toEqual([...fake.branchOutput("cond", undefined, 1).data])
    }
    // a neutral level keeps c's level while the others guide, as in diffusers
    expect(fdg({ scales: [1, 5] }).activeLevels(at(0))).toEqual([false, true])
  })

  it("keeps shapes and batch rows independent (random inputs)", () => {
    const [cond, uncond] = randomPreds(5, [3, 2, 8, 8])
    const middleware = fdg({ scales: [9, 3], parallelWeights: [0.5, 1] })
    const whole = middleware.combine(undefined, new Predictions({ cond, uncond }), at(1))!
    expect(whole.shape).toEqual([3, 2, 8, 8])
    for (let b = 0; b < 3; b++) {
      const slice = (t: Tensor<"float32">): Tensor => new Tensor("float32", t.data.slice(b * 128, (b + 1) * 128), [1, 2, 8, 8])
      const single = middleware.combine(undefined, new Predictions({ cond: slice(cond), uncond: slice(uncond) }), at(1))!
      expect([...single.data]).toEqual([...whole.data.slice(b * 128, (b + 1) * 128)])
    }
  })

  it("rescales in data space in finish (first value, against c), or per level in freq space", async () => {
    const fake = createFakeDenoiser({ rowShape: [2, 8, 8] })
    const out = await guidance(fdg({ rescale: [0.7, 0.1] })).step(at(0), { batchSize: 1, denoise: fake.denoise })
    const plain = await guidance(fdg()).step(at(0), { batchSize: 1, denoise: fake.denoise })
    expect([...out.data]).toEqual([...rescaleNoiseCfg(plain, fake.branchOutput("cond", undefined, 1), 0.7).data])
    const freq = await guidance(fdg({ rescale: 0.5, rescaleSpace: "freq" })).step(at(0), { batchSize: 1, denoise: fake.denoise })
    const c = fake.branchOutput("cond", undefined, 1)
    const u = fake.branchOutput("uncond", undefined, 1)
    expect([...freq.data]).toEqual([...frequencyDecoupledGuidance(c, u, { ...defaults, rescale: [0.5, 0.5], rescaleSpace: "freq" }).data])
  })

  it("composes with pag() and cfg() in one chain (rows deduplicated)", async () => {
    const fake = createFakeDenoiser({ rowShape: [2, 8, 8] })
    const out = await guidance(fdg({ scales: [6, 3] }), pag({ scale: 2, layers: ["mid"] })).step(at(0), { batchSize: 1, denoise: fake.denoise })
    expect(fake.rows.map((r) => r.branch)).toEqual(["uncond", "cond", "pag"])
    const c = fake.branchOutput("cond", undefined, 1)
    const u = fake.branchOutput("uncond", undefined, 1)
    const p = fake.branchOutput("cond", { [IDENTITY_ATTENTION]: ["mid"] }, 1).data
    const guided = frequencyDecoupledGuidance(c, u, { ...defaults, scales: [6, 3] }).data
    expect([...out.data]).toEqual([...guided].map((v, i) => f(v + f(2 * f(c.data[i]! - p[i]!)))))
    const both = createFakeDenoiser({ rowShape: [2, 8, 8] })
    await guidance(cfg({ scale: 3 }), fdg()).step(at(0), { batchSize: 2, denoise: both.denoise })
    expect(both.rows.map((r) => r.branch)).toEqual(["uncond", "uncond", "cond", "cond"])
  })

  it("round-trips through toJSON() and validates options", () => {
    const json = fdg({ scales: [12, 6, 3], rescale: 0.2, parallelWeights: [1, 0.5, 0], window: [0, 0.8], rescaleSpace: "freq", upcastToDouble: false }).toJSON()
    expect(json).toEqual({
      name: "fdg", scales: [12, 6, 3], rescale: [0.2, 0.2, 0.2], parallelWeights: [1, 0.5, 0], useOriginalFormulation: false,
      window: [[0, 0.8], [0, 0.8], [0, 0.8]], rescaleSpace: "freq", upcastToDouble: false, enabled: true,
    })
    const { name: _name, ...options } = json
    expect(fdg(options).toJSON()).toEqual(json)
    expect(fdg(JSON.parse(JSON.stringify(json))).toJSON()).toEqual(json)
    expect(() => fdg({ guidance_scales: [1, 2] } as never)).toThrow(GuidanceOptionsError)
    expect(() => fdg({ guidance_scales: [1, 2] } as never)).toThrow(/unknown option "guidance_scales" \(did you mean "scales"\?\). Valid options: scales, rescale/)
    expect(() => fdg({ parallel_weights: 0.5 } as never)).toThrow(/did you mean "parallelWeights"/)
    expect(() => fdg({ scales: [] })).toThrow(/non-empty list/)
    expect(() => fdg({ scales: [10, 5], rescale: [0.1] })).toThrow(/has 1 values but scales has 2 levels/)
    expect(() => fdg({ scales: [10, 5], window: [[0, 1]] })).toThrow(/window: has 1 values/)
    expect(() => fdg({ rescaleSpace: "pixel" as never })).toThrow(/rescaleSpace/)
  })

  it("explains predictions that are not image-shaped", () => {
    expect(() => fdg().combine(undefined, new Predictions({ cond: Tensor.zeros([1, 16]), uncond: Tensor.zeros([1, 16]) }), at(0))).toThrow(/\[batch, channels, height, width\]/)
  })
})
