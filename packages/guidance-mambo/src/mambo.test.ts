import { describe, expect, it } from "vitest"
import { GuidanceOptionsError, Predictions, guidance } from "@pagkit/guidance"
import type { StepContext } from "@pagkit/guidance"
import { createFakeDenoiser } from "@pagkit/guidance/testing"
import { cfg, rescaleNoiseCfg } from "@pagkit/guidance-cfg"
import { IDENTITY_ATTENTION, pag } from "@pagkit/guidance-pag"
import { Tensor, TorchGenerator } from "@pagkit/tensor"
import { mambo } from "./mambo.js"
import { mamboGuidance } from "./mambo-guidance.js"

const f = Math.fround
const at = (stepIndex: number, numSteps = 10): StepContext => ({ stepIndex, numSteps, timestep: 1000 - 100 * stepIndex })

/**
 * Transcription of diffusers `magnitude_aware_guidance.py` `mambo_guidance` (lines 148–159) for float32:
 * dim = all non-batch dims; diff = c − u; ratio = norm(diff, dim) / norm(u, dim);
 * scale = g·exp(−α·ratio) (original) or 1 + (g − 1)·exp(−α·ratio); pred = base + scale·diff.
 */
function referenceMambo(cond: Float32Array, uncond: Float32Array, batch: number, g: number, alpha: number, original: boolean): Float32Array {
  const n = cond.length / batch
  const pred = new Float32Array(cond.length)
  for (let b = 0; b < batch; b++) {
    const diff: number[] = []
    for (let i = 0; i < n; i++) diff.push(f(cond[b * n + i]! - uncond[b * n + i]!))
    const norm = (values: ArrayLike<number>): number => f(Math.sqrt(Array.from(values).reduce((s, v) => s + v * v, 0)))
    const ratio = f(norm(diff) / norm(uncond.subarray(b * n, (b + 1) * n)))
    const exp = f(Math.exp(f(f(-alpha) * ratio)))
    const guidanceScaleFinal = original ? f(f(g) * exp) : f(1 + f(f(g - 1) * exp))
    for (let i = 0; i < n; i++) {
      pred[b * n + i] = f((original ? cond[b * n + i]! : uncond[b * n + i]!) + f(guidanceScaleFinal * diff[i]!))
    }
  }
  return pred
}

function randomPreds(seed: number, shape: number[]): [Tensor<"float32">, Tensor<"float32">] {
  const generator = new TorchGenerator(seed)
  const cond = generator.randn(shape)
  const uncond = generator.randn(shape)
  for (let i = 0; i < uncond.size; i++) uncond.data[i] = f(0.9 * cond.data[i]! + 0.2 * uncond.data[i]!)
  return [cond, uncond]
}

function maxRelError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = 0
  let scale = 1e-30
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!))
    scale = Math.max(scale, Math.abs(expected[i]!))
  }
  return worst / scale
}

describe("mambo formula against a transcription of diffusers", () => {
  for (const [seed, original, scale, alpha] of [[1, false, 10, 8], [2, true, 6, 2], [3, false, 15, 0.5]] as const) {
    it(`seed ${seed}, useOriginalFormulation ${original}, g ${scale}, alpha ${alpha}`, () => {
      const [cond, uncond] = randomPreds(seed, [3, 4, 8, 8])
      const { guided, scales } = mamboGuidance(cond, uncond, { scale, alpha, useOriginalFormulation: original })
      expect(guided.shape).toEqual([3, 4, 8, 8])
      expect(maxRelError(guided.data, referenceMambo(cond.data, uncond.data, 3, scale, alpha, original))).toBeLessThan(2e-6)
      for (const s of scales) expect(s).toBeLessThanOrEqual(scale)
    })
  }

  it("alpha 0 is plain CFG; a large update relative to u drives the scale towards 1", () => {
    const [cond, uncond] = randomPreds(7, [2, 16])
    const { guided } = mamboGuidance(cond, uncond, { scale: 5, alpha: 0, useOriginalFormulation: false })
    expect([...guided.data]).toEqual([...cond.data].map((c, i) => f(uncond.data[i]! + f(5 * f(c - uncond.data[i]!)))))
    const far = mamboGuidance(Tensor.fromArray([100, -100], [1, 2]), Tensor.fromArray([1, 1], [1, 2]), { scale: 10, alpha: 8, useOriginalFormulation: false })
    expect(far.scales[0]).toBe(1)
  })
})

describe("mambo middleware", () => {
  it("has diffusers' defaults and guides from rows [uncond, cond]", async () => {
    expect(mambo().options).toEqual({ scale: 10, alpha: 8, rescale: 0, useOriginalFormulation: false, window: [0, 1], enabled: true })
    const fake = createFakeDenoiser({ rowShape: [4, 3, 3] })
    const out = await guidance(mambo({ scale: 5, alpha: 1 })).step(at(0), { batchSize: 2, denoise: fake.denoise })
    expect(fake.rows.map((r) => r.branch)).toEqual(["uncond", "uncond", "cond", "cond"])
    const c = fake.branchOutput("cond", undefined, 2).data
    const u = fake.branchOutput("uncond", undefined, 2).data
    expect(maxRelError(out.data as Float32Array, referenceMambo(c, u, 2, 5, 1, false))).toBeLessThan(2e-6)
  })

  it("is off (prev, no uncond row) for a neutral scale, outside its window, or disabled", async () => {
    for (const middleware of [mambo({ scale: 1 }), mambo({ scale: 0, useOriginalFormulation: true }), mambo({ window: [0.5, 1] }), mambo({ enabled: false })]) {
      const fake = createFakeDenoiser({ rowShape: [5] })
      const out = await guidance(middleware).step(at(2), { batchSize: 1, denoise: fake.denoise })
      expect(fake.rows.map((r) => r.branch)).toEqual(["cond"])
      expect([...out.data]).toEqual([...fake.branchOutput("cond", undefined, 1).data])
    }
  })

  it("keeps shapes and batch rows independent (random inputs)", () => {
    for (const seed of [4, 5]) {
      const [cond, uncond] = randomPreds(seed, [3, 2, 4, 4])
      const middleware = mambo({ scale: 4 + seed, alpha: seed })
      const whole = middleware.combine(undefined, new Predictions({ cond, uncond }), at(1))!
      expect(whole.shape).toEqual([3, 2, 4, 4])
      for (let b = 0; b < 3; b++) {
        const slice = (t: Tensor<"float32">): Tensor => new Tensor("float32", t.data.slice(b * 32, (b + 1) * 32), [1, 2, 4, 4])
        const single = middleware.combine(undefined, new Predictions({ cond: slice(cond), uncond: slice(uncond) }), at(1))!
        expect([...single.data]).toEqual([...whole.data.slice(b * 32, (b + 1) * 32)])
      }
    }
  })

  it("rescales against c only where it guides", async () => {
    const fake = createFakeDenoiser({ rowShape: [4, 3, 3] })
    const out = await guidance(mambo({ scale: 5, rescale: 0.7 })).step(at(0), { batchSize: 1, denoise: fake.denoise })
    const plain = await guidance(mambo({ scale: 5 })).step(at(0), { batchSize: 1, denoise: fake.denoise })
    expect([...out.data]).toEqual([...rescaleNoiseCfg(plain, fake.branchOutput("cond", undefined, 1), 0.7).data])
  })

  it("composes with pag() and cfg() in one chain (rows deduplicated)", async () => {
    const fake = createFakeDenoiser({ rowShape: [4, 2, 2] })
    const out = await guidance(mambo({ scale: 4, alpha: 2 }), pag({ scale: 2, layers: ["mid"] })).step(at(0), { batchSize: 1, denoise: fake.denoise })
    expect(fake.rows.map((r) => r.branch)).toEqual(["uncond", "cond", "pag"])
    const c = fake.branchOutput("cond", undefined, 1)
    const u = fake.branchOutput("uncond", undefined, 1)
    const p = fake.branchOutput("cond", { [IDENTITY_ATTENTION]: ["mid"] }, 1).data
    const guided = mamboGuidance(c, u, { scale: 4, alpha: 2, useOriginalFormulation: false }).guided.data
    expect([...out.data]).toEqual([...guided].map((v, i) => f(v + f(2 * f(c.data[i]! - p[i]!)))))
    const both = createFakeDenoiser({ rowShape: [4, 2, 2] })
    await guidance(cfg({ scale: 3 }), mambo()).step(at(0), { batchSize: 2, denoise: both.denoise })
    expect(both.rows.map((r) => r.branch)).toEqual(["uncond", "uncond", "cond", "cond"])
  })

  it("round-trips through toJSON() and names unknown keys", () => {
    const json = mambo({ scale: 12, alpha: 4, rescale: 0.2, window: [0, 0.5] }).toJSON()
    expect(json).toEqual({ name: "mambo", scale: 12, alpha: 4, rescale: 0.2, useOriginalFormulation: false, window: [0, 0.5], enabled: true })
    const { name: _name, ...options } = json
    expect(mambo(options).toJSON()).toEqual(json)
    expect(mambo(JSON.parse(JSON.stringify(json))).toJSON()).toEqual(json)
    expect(() => mambo({ guidance_scale: 3 } as never)).toThrow(GuidanceOptionsError)
    expect(() => mambo({ guidance_scale: 3 } as never)).toThrow(/unknown option "guidance_scale" \(did you mean "scale"\?\). Valid options: scale, alpha/)
    expect(() => mambo({ alpha: Number.POSITIVE_INFINITY })).toThrow(/alpha/)
  })
})
