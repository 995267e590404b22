import { describe, expect, it } from "vitest"
import { GuidanceOptionsError, Predictions, guidance } from "@pagkit/guidance"
import type { StepContext } from "@pagkit/guidance"
import { createFakeDenoiser } from "@pagkit/guidance/testing"
import { cfg, rescaleNoiseCfg } from "@pagkit/guidance-cfg"
import { IDENTITY_ATTENTION, pag } from "@pagkit/guidance-pag"
import { Tensor, TorchGenerator } from "@pagkit/tensor"
import { cfgZeroStar } from "./cfg-zero-star.js"
import { cfgZeroStarGuidance, cfgZeroStarScale } from "./optimized-scale.js"

const f = Math.fround
const at = (stepIndex: number, numSteps = 10): StepContext => ({ stepIndex, numSteps, timestep: 1000 - 100 * stepIndex })

/**
 * Independent transcription of diffusers `ClassifierFreeZeroStarGuidance.forward` (lines 112–119) and
 * `cfg_zero_star_scale` (lines 157–164) for float32 tensors: flatten(1), float32 products and sums,
 * `+ eps`, division, `alpha.view(-1, 1, …)`, then the CFG update on the scaled uncond.
 */
function referenceCfgZeroStar(cond: Float32Array, uncond: Float32Array, batch: number, g: number, original: boolean): Float32Array {
  const n = cond.length / batch
  const pred = new Float32Array(cond.length)
  for (let b = 0; b < batch; b++) {
    const condFlat = cond.subarray(b * n, (b + 1) * n) // pred_cond.flatten(1)[b]
    const uncondFlat = uncond.subarray(b * n, (b + 1) * n)
    let dotProduct = 0
    let squaredNorm = 0
    condFlat.forEach((c, i) => { dotProduct += f(c * uncondFlat[i]!) })
    uncondFlat.forEach((u) => { squaredNorm += f(u ** 2) })
    const alpha = f(f(dotProduct) / f(f(squaredNorm) + f(1e-8)))
    for (let i = 0; i < n; i++) {
      const predUncond = f(uncondFlat[i]! * alpha)
      const shift = f(condFlat[i]! - predUncond)
      pred[b * n + i] = f((original ? condFlat[i]! : predUncond) + f(f(g) * shift))
    }
  }
  return pred
}

function randomPreds(seed: number, shape: number[]): [Tensor<"float32">, Tensor<"float32">] {
  const generator = new TorchGenerator(seed)
  const cond = generator.randn(shape)
  const uncond = generator.randn(shape)
  for (let i = 0; i < uncond.size; i++) uncond.data[i] = f(0.7 * cond.data[i]! + 0.4 * uncond.data[i]!)
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

describe("cfgZeroStar formula against a transcription of diffusers", () => {
  for (const [seed, original] of [[1, false], [2, true], [3, false]] as const) {
    it(`seed ${seed}, useOriginalFormulation ${original}`, () => {
      const [cond, uncond] = randomPreds(seed, [3, 4, 8, 6])
      const ours = cfgZeroStarGuidance(cond, uncond, 6.5, original)
      expect(ours.shape).toEqual([3, 4, 8, 6])
      expect(maxRelError(ours.data, referenceCfgZeroStar(cond.data, uncond.data, 3, 6.5, original))).toBeLessThan(2e-6)
    })
  }

  it("α is ⟨c, u⟩/‖u‖² per sample, 1 for u = c and 0 for u ⟂ c", () => {
    const cond = Tensor.fromArray([1, 2, 3, 4, 1, 0, 0, 0], [2, 4])
    const uncond = Tensor.fromArray([1, 2, 3, 4, 0, 5, 0, 0], [2, 4])
    const alpha = cfgZeroStarScale(cond, uncond)
    expect(alpha[0]).toBeCloseTo(1, 6)
    expect(alpha[1]).toBe(0)
    // float64 predictions stay float64
    const c64 = new Tensor("float64", Float64Array.from(cond.data), [2, 4])
    expect(cfgZeroStarGuidance(c64, c64, 5, false).dtype).toBe("float64")
  })
})

describe("cfgZeroStar middleware", () => {
  it("has diffusers' defaults, zero-inits step 0 without an uncond row, then guides with [uncond, cond]", async () => {
    expect(cfgZeroStar().options).toEqual({ scale: 7.5, zeroInitSteps: 1, rescale: 0, useOriginalFormulation: false, window: [0, 1], enabled: true })
    const chain = guidance(cfgZeroStar({ scale: 5 }))
    const fake = createFakeDenoiser({ rowShape: [4, 3, 3] })
    const first = await chain.step(at(0), { batchSize: 2, denoise: fake.denoise })
    expect(fake.rows.map((r) => r.branch)).toEqual(["cond", "cond"])
    expect([...first.data].every((v) => v === 0)).toBe(true)
    const second = await chain.step(at(1), { batchSize: 2, denoise: fake.denoise })
    expect(fake.rows.slice(2).map((r) => r.branch)).toEqual(["uncond", "uncond", "cond", "cond"])
    const c = fake.branchOutput("cond", undefined, 2)
    const u = fake.branchOutput("uncond", undefined, 2)
    expect([...second.data]).toEqual([...referenceCfgZeroStar(c.data, u.data, 2, 5, false)])
  })

  it("is off (prev passes through, no uncond row) for a neutral scale, outside its window, or disabled", async () => {
    for (const middleware of [
      cfgZeroStar({ scale: 1, zeroInitSteps: 0 }),
      cfgZeroStar({ scale: 0, useOriginalFormulation: true, zeroInitSteps: 0 }),
      cfgZeroStar({ window: [0.5, 1] }),
      cfgZeroStar({ enabled: false }),
    ]) {
      const fake = createFakeDenoiser({ rowShape: [5] })
      const out = await guidance(middleware).step(at(2), { batchSize: 1, denoise: fake.denoise })
      expect(fake.rows.map((r) => r.branch)).toEqual(["cond"])
      expect([...out.data]).toEqual([...fake.branchOutput("cond", undefined, 1).data])
    }
    // zero-init ignores the window (diffusers checks it before _is_cfg_enabled), but not `enabled`
    expect(cfgZeroStar({ window: [0.5, 1] }).isZeroInit(at(0))).toBe(true)
    expect(cfgZeroStar({ enabled: false }).isZeroInit(at(0))).toBe(false)
    expect(cfgZeroStar({ zeroInitSteps: 3 }).isZeroInit(at(2))).toBe(true)
  })

  it("keeps shapes and batch rows independent (random inputs)", () => {
    for (const seed of [4, 5]) {
      const [cond, uncond] = randomPreds(seed, [3, 2, 4, 4])
      const middleware = cfgZeroStar({ scale: 3 + seed, zeroInitSteps: 0 })
      const whole = middleware.combine(undefined, new Predictions({ cond, uncond }), at(1))!
      expect(whole.shape).toEqual([3, 2, 4, 4])
      for (let b = 0; b < 3; b++) {
        const slice = (t: Tensor<"float32">): Tensor => new Tensor("float32", t.data.slice(b * 32, (b + 1) * 32), [1, 2, 4, 4])
        const single = middleware.combine(undefined, new Predictions({ cond: slice(cond), uncond: slice(uncond) }), at(1))!
        expect([...single.data]).toEqual([...whole.data.slice(b * 32, (b + 1) * 32)])
      }
    }
  })

  it("rescales against c where it guides and skips rescale on zero-init steps (no NaN)", async () => {
    const fake = createFakeDenoiser({ rowShape: [4, 3, 3] })
    const chain = guidance(cfgZeroStar({ scale: 5, rescale: 0.7 }))
    const zero = await chain.step(at(0), { batchSize: 1, denoise: fake.denoise })
    expect([...zero.data].every((v) => v === 0)).toBe(true)
    const out = await chain.step(at(1), { batchSize: 1, denoise: fake.denoise })
    const plain = await guidance(cfgZeroStar({ scale: 5 })).step(at(1), { batchSize: 1, denoise: fake.denoise })
    expect([...out.data]).toEqual([...rescaleNoiseCfg(plain, fake.branchOutput("cond", undefined, 1), 0.7).data])
  })

  it("composes with pag() (rows [uncond, cond, pag] in one call) and zero-init zeroes the whole sum", async () => {
    const fake = createFakeDenoiser({ rowShape: [4, 2, 2] })
    const chain = guidance(cfgZeroStar({ scale: 4 }), pag({ scale: 2, layers: ["mid"] }))
    const zero = await chain.step(at(0), { batchSize: 1, denoise: fake.denoise })
    expect(fake.rows.map((r) => r.branch)).toEqual(["cond", "pag"])
    expect([...zero.data].every((v) => v === 0)).toBe(true)
    const out = await chain.step(at(1), { batchSize: 1, denoise: fake.denoise })
    expect(fake.rows.slice(2).map((r) => r.branch)).toEqual(["uncond", "cond", "pag"])
    const c = fake.branchOutput("cond", undefined, 1).data
    const u = fake.branchOutput("uncond", undefined, 1).data
    const p = fake.branchOutput("cond", { [IDENTITY_ATTENTION]: ["mid"] }, 1).data
    const star = referenceCfgZeroStar(c, u, 1, 4, false)
    expect([...out.data]).toEqual([...star].map((v, i) => f(v + f(2 * f(c[i]! - p[i]!)))))
  })

  it("after cfg() in a chain shares the uncond row and adds its offset from c", async () => {
    const fake = createFakeDenoiser({ rowShape: [6] })
    const out = await guidance(cfg({ scale: 2 }), cfgZeroStar({ scale: 4, zeroInitSteps: 0 })).step(at(0), { batchSize: 1, denoise: fake.denoise })
    expect(fake.rows.map((r) => r.branch)).toEqual(["uncond", "cond"])
    const c = fake.branchOutput("cond", undefined, 1).data
    const u = fake.branchOutput("uncond", undefined, 1).data
    const star = referenceCfgZeroStar(c, u, 1, 4, false)
    expect([...out.data]).toEqual([...u].map((ui, i) => f(f(ui + f(2 * f(c[i]! - ui))) + f(star[i]! - c[i]!))))
  })

  it("round-trips through toJSON() and names unknown keys", () => {
    const middleware = cfgZeroStar({ scale: 4, zeroInitSteps: 2, rescale: 0.5, useOriginalFormulation: true, window: [0, 0.8] })
    const json = middleware.toJSON()
    expect(json).toEqual({ name: "cfg-zero-star", scale: 4, zeroInitSteps: 2, rescale: 0.5, useOriginalFormulation: true, window: [0, 0.8], enabled: true })
    const { name: _name, ...options } = json
    expect(cfgZeroStar(options).toJSON()).toEqual(json)
    expect(cfgZeroStar(JSON.parse(JSON.stringify(json))).toJSON()).toEqual(json)
    expect(() => cfgZeroStar({ zero_init_steps: 2 } as never)).toThrow(GuidanceOptionsError)
    expect(() => cfgZeroStar({ zero_init_steps: 2 } as never)).toThrow(/unknown option "zero_init_steps" \(did you mean "zeroInitSteps"\?\). Valid options: scale, zeroInitSteps/)
    expect(() => cfgZeroStar({ guidance_rescale: 0.5 } as never)).toThrow(/did you mean "rescale"/)
    expect(() => cfgZeroStar({ zeroInitSteps: 1.5 })).toThrow(/whole number/)
    expect(() => cfgZeroStar({ rescale: -1 })).toThrow(/rescale/)
  })
})
