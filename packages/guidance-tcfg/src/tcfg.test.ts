import { describe, expect, it } from "vitest"
import { GuidanceOptionsError, Predictions, guidance } from "@pagkit/guidance"
import type { StepContext } from "@pagkit/guidance"
import { createFakeDenoiser } from "@pagkit/guidance/testing"
import { cfg, rescaleNoiseCfg } from "@pagkit/guidance-cfg"
import { IDENTITY_ATTENTION, pag } from "@pagkit/guidance-pag"
import { Tensor, TorchGenerator } from "@pagkit/tensor"
import { projectUncond, tangentialGuidance } from "./tangential-guidance.js"
import { tcfg } from "./tcfg.js"

const f = Math.fround
const at = (stepIndex: number, numSteps = 10): StepContext => ({ stepIndex, numSteps, timestep: 1000 - 100 * stepIndex })
const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

/** Right-singular vectors of the 2 × N matrix [c; u] by one-sided (Hestenes) Jacobi in float64. */
function jacobiVh(c: ArrayLike<number>, u: ArrayLike<number>): [Float64Array, Float64Array] {
  let a0 = Float64Array.from(c)
  let a1 = Float64Array.from(u)
  for (let sweep = 0; sweep < 4; sweep++) {
    const alpha = dot(a0, a0)
    const beta = dot(a1, a1)
    const gamma = dot(a0, a1)
    if (Math.abs(gamma) <= 1e-300) break
    const zeta = (beta - alpha) / (2 * gamma)
    const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta))
    const cs = 1 / Math.sqrt(1 + t * t)
    const sn = cs * t
    const r0 = a0.map((x, i) => cs * x - sn * a1[i]!)
    const r1 = a0.map((x, i) => sn * x + cs * a1[i]!)
    a0 = r0
    a1 = r1
  }
  const [big, small] = dot(a0, a0) >= dot(a1, a1) ? [a0, a1] : [a1, a0]
  const bigNorm = Math.sqrt(dot(big, big))
  const smallNorm = Math.sqrt(dot(small, small))
  return [big.map((x) => x / bigNorm), small.map((x) => (smallNorm > 0 ? x / smallNorm : 0))]
}

/**
 * Transcription of diffusers `tangential_classifier_free_guidance.py` `normalized_guidance` (lines 135–151)
 * per sample: preds = stack([c, u]).float().flatten(2); U, S, Vh = svd(preds); Vh_modified[:, 1] = 0;
 * x_Vh = u · Vhᵀ; x_Vh_V = x_Vh · Vh_modified; then the CFG update on it.
 */
function referenceTcfg(cond: Float32Array, uncond: Float32Array, batch: number, g: number, original: boolean): Float32Array {
  const n = cond.length / batch
  const pred = new Float32Array(cond.length)
  for (let b = 0; b < batch; b++) {
    const c = cond.subarray(b * n, (b + 1) * n)
    const u = uncond.subarray(b * n, (b + 1) * n)
    const [v1, v2] = jacobiVh(c, u)
    const xVh = [dot(u, v1), dot(u, v2)]
    const vhModified = [v1, new Float64Array(n)] // Vh_modified[:, 1] = 0
    for (let i = 0; i < n; i++) {
      const predUncond = f(xVh[0]! * vhModified[0]![i]! + xVh[1]! * vhModified[1]![i]!)
      const shift = f(c[i]! - predUncond)
      pred[b * n + i] = f((original ? c[i]! : predUncond) + f(f(g) * shift))
    }
  }
  return pred
}

function randomPreds(seed: number, shape: number[]): [Tensor<"float32">, Tensor<"float32">] {
  const generator = new TorchGenerator(seed)
  const cond = generator.randn(shape)
  const uncond = generator.randn(shape)
  for (let i = 0; i < uncond.size; i++) uncond.data[i] = f(0.9 * cond.data[i]! + 0.3 * uncond.data[i]!)
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

describe("tcfg formula against a transcription of diffusers (SVD by Jacobi rotations)", () => {
  for (const [seed, original, scale] of [[1, false, 7.5], [2, true, 3], [3, false, 12]] as const) {
    it(`seed ${seed}, useOriginalFormulation ${original}, g ${scale}`, () => {
      const [cond, uncond] = randomPreds(seed, [3, 4, 8, 8])
      const ours = tangentialGuidance(cond, uncond, scale, original)
      expect(ours.shape).toEqual([3, 4, 8, 8])
      expect(maxRelError(ours.data, referenceTcfg(cond.data, uncond.data, 3, scale, original))).toBeLessThan(3e-6)
    })
  }

  it("projection: u along c stays; u ⟂ c with the smaller norm goes to 0; zeros stay zeros", () => {
    const c = Tensor.fromArray([1, 2, 3, 4, 5, 0, 0, 0, 0, 0, 0, 0], [3, 4])
    const u = Tensor.fromArray([2, 4, 6, 8, 0, 1, 0, 0, 0, 0, 0, 0], [3, 4])
    const projected = projectUncond(c, u).data
    expect([...projected.slice(0, 4)].map((v) => Math.round(v * 1e5) / 1e5)).toEqual([2, 4, 6, 8])
    expect([...projected.slice(4)]).toEqual([0, 0, 0, 0, 0, 0, 0, 0])
  })
})

describe("tcfg middleware", () => {
  it("has diffusers' defaults and guides from rows [uncond, cond]", async () => {
    expect(tcfg().options).toEqual({ scale: 7.5, rescale: 0, useOriginalFormulation: false, window: [0, 1], enabled: true })
    const fake = createFakeDenoiser({ rowShape: [4, 3, 3] })
    const out = await guidance(tcfg({ scale: 5 })).step(at(0), { batchSize: 2, denoise: fake.denoise })
    expect(fake.rows.map((r) => r.branch)).toEqual(["uncond", "uncond", "cond", "cond"])
    const c = fake.branchOutput("cond", undefined, 2).data
    const u = fake.branchOutput("uncond", undefined, 2).data
    expect(maxRelError(out.data as Float32Array, referenceTcfg(c, u, 2, 5, false))).toBeLessThan(3e-6)
  })

  it("is off (prev, no uncond row) for a neutral scale, outside its window, or disabled", async () => {
    for (const middleware of [tcfg({ scale: 1 }), tcfg({ scale: 0, useOriginalFormulation: true }), tcfg({ window: [0.5, 1] }), tcfg({ enabled: false })]) {
      const fake = createFakeDenoiser({ rowShape: [5] })
      const out = await guidance(middleware).step(at(2), { batchSize: 1, denoise: fake.denoise })
      expect(fake.rows.map((r) => r.branch)).toEqual(["cond"])
      expect([...out.data]).toEqual([...fake.branchOutput("cond", undefined, 1).data])
    }
  })

  it("keeps shapes and batch rows independent (random inputs)", () => {
    for (const seed of [4, 5]) {
      const [cond, uncond] = randomPreds(seed, [3, 2, 4, 4])
      const middleware = tcfg({ scale: 2 + seed })
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
    const out = await guidance(tcfg({ scale: 5, rescale: 0.7 })).step(at(0), { batchSize: 1, denoise: fake.denoise })
    const plain = await guidance(tcfg({ scale: 5 })).step(at(0), { batchSize: 1, denoise: fake.denoise })
    expect([...out.data]).toEqual([...rescaleNoiseCfg(plain, fake.branchOutput("cond", undefined, 1), 0.7).data])
  })

  it("composes with pag() and cfg() in one chain (rows deduplicated)", async () => {
    const fake = createFakeDenoiser({ rowShape: [4, 2, 2] })
    const out = await guidance(tcfg({ scale: 4 }), pag({ scale: 2, layers: ["mid"] })).step(at(0), { batchSize: 1, denoise: fake.denoise })
    expect(fake.rows.map((r) => r.branch)).toEqual(["uncond", "cond", "pag"])
    const c = fake.branchOutput("cond", undefined, 1)
    const u = fake.branchOutput("uncond", undefined, 1)
    const p = fake.branchOutput("cond", { [IDENTITY_ATTENTION]: ["mid"] }, 1).data
    const tangential = tangentialGuidance(c, u, 4, false).data
    expect([...out.data]).toEqual([...tangential].map((v, i) => f(v + f(2 * f(c.data[i]! - p[i]!)))))
    const both = createFakeDenoiser({ rowShape: [4, 2, 2] })
    await guidance(cfg({ scale: 3 }), tcfg({ scale: 4 })).step(at(0), { batchSize: 2, denoise: both.denoise })
    expect(both.rows.map((r) => r.branch)).toEqual(["uncond", "uncond", "cond", "cond"])
  })

  it("round-trips through toJSON() and names unknown keys", () => {
    const json = tcfg({ scale: 6, rescale: 0.2, window: [0.1, 1] }).toJSON()
    expect(json).toEqual({ name: "tcfg", scale: 6, rescale: 0.2, useOriginalFormulation: false, window: [0.1, 1], enabled: true })
    const { name: _name, ...options } = json
    expect(tcfg(options).toJSON()).toEqual(json)
    expect(tcfg(JSON.parse(JSON.stringify(json))).toJSON()).toEqual(json)
    expect(() => tcfg({ guidance_scale: 3 } as never)).toThrow(GuidanceOptionsError)
    expect(() => tcfg({ guidance_scale: 3 } as never)).toThrow(/unknown option "guidance_scale" \(did you mean "scale"\?\). Valid options: scale, rescale/)
    expect(() => tcfg({ stop: 0.5 } as never)).toThrow(/did you mean "window"/)
    expect(() => tcfg({ scale: "7" as never })).toThrow(/scale/)
  })
})
