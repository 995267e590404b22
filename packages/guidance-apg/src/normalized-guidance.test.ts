import { describe, expect, it } from "vitest"
import { Tensor, TorchGenerator } from "@pagkit/tensor"
import { normalizedGuidance } from "./normalized-guidance.js"
import type { NormalizedGuidanceOptions } from "./normalized-guidance.js"

const f = Math.fround

/**
 * Independent transcription of diffusers `guiders/adaptive_projected_guidance.py` `normalized_guidance`
 * (lines 221–253) for [B, C, H, W] float32 tensors and `norm_dim=None` or one axis, line by line:
 * float32 tensors round every op (`f`), `.double()` work stays in float64, `.to(dtype)` rounds.
 * `paper: true` swaps the last line for the APG paper's Algorithm 1: `pred_cond + (g − 1) · update`.
 */
function referenceApg(
  cond: Float32Array,
  uncond: Float32Array,
  shape: [number, number, number, number],
  o: { g: number; eta: number; threshold: number; axis: number | null; original: boolean; paper: boolean; avg?: Float32Array; momentum?: number },
): { pred: Float32Array; avg: Float32Array | undefined } {
  const [B, C, H, W] = shape
  const n = B * C * H * W
  const at = (b: number, c: number, h: number, w: number): number => ((b * C + c) * H + h) * W + w
  // which elements share a norm: all non-batch dims, or everything but the batch and `axis`'s complement
  const key = (b: number, c: number, h: number, w: number): string =>
    o.axis === null ? `${b}` : o.axis === 1 ? `${b},${h},${w}` : o.axis === 2 || o.axis === -2 ? `${b},${c},${w}` : `${b},${c},${h}`
  // diff = pred_cond - pred_uncond
  let diff = new Float32Array(n)
  for (let i = 0; i < n; i++) diff[i] = f(cond[i]! - uncond[i]!)
  let avg: Float32Array | undefined
  if (o.momentum !== undefined) {
    // new_average = self.momentum * self.running_average ; self.running_average = update_value + new_average
    const next = new Float32Array(n)
    for (let i = 0; i < n; i++) next[i] = o.avg === undefined ? diff[i]! : f(diff[i]! + f(f(o.momentum) * o.avg[i]!))
    diff = next
    avg = next
  }
  const sums = (values: (i: number) => number): Map<string, number> => {
    const m = new Map<string, number>()
    for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
      const k = key(b, c, h, w)
      m.set(k, (m.get(k) ?? 0) + values(at(b, c, h, w)))
    }
    return m
  }
  if (o.threshold > 0) {
    // diff_norm = diff.norm(p=2, dim=dim, keepdim=True); scale_factor = minimum(ones, norm_threshold / diff_norm)
    const norms = sums((i) => diff[i]! * diff[i]!)
    const scaled = new Float32Array(n)
    for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
      const i = at(b, c, h, w)
      const diffNorm = f(Math.sqrt(norms.get(key(b, c, h, w))!))
      const scaleFactor = Math.min(1, f(f(1 / diffNorm) * f(o.threshold))) // Tensor.__rtruediv__: reciprocal() * other
      scaled[i] = f(diff[i]! * scaleFactor)
    }
    diff = scaled
  }
  // v0, v1 = diff.double(), pred_cond.double(); v1 = normalize(v1, dim=dim)
  const v1Norms = sums((i) => cond[i]! * cond[i]!)
  const v1 = new Float64Array(n)
  for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
    const i = at(b, c, h, w)
    v1[i] = cond[i]! / Math.max(Math.sqrt(v1Norms.get(key(b, c, h, w))!), 1e-12)
  }
  // v0_parallel = (v0 * v1).sum(dim=dim, keepdim=True) * v1 ; v0_orthogonal = v0 - v0_parallel
  const dots = sums((i) => diff[i]! * v1[i]!)
  const pred = new Float32Array(n)
  for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
    const i = at(b, c, h, w)
    const v0Parallel = dots.get(key(b, c, h, w))! * v1[i]!
    const v0Orthogonal = diff[i]! - v0Parallel
    const diffParallel = f(v0Parallel)
    const diffOrthogonal = f(v0Orthogonal)
    const normalizedUpdate = f(diffOrthogonal + f(f(o.eta) * diffParallel))
    if (o.paper && !o.original) pred[i] = f(cond[i]! + f(f(o.g - 1) * normalizedUpdate))
    else pred[i] = f((o.original ? cond[i]! : uncond[i]!) + f(f(o.g) * normalizedUpdate))
  }
  return { pred, avg }
}

function randomPair(seed: number, shape: [number, number, number, number]): [Tensor<"float32">, Tensor<"float32">] {
  const generator = new TorchGenerator(seed)
  const cond = generator.randn(shape)
  const uncond = generator.randn(shape)
  // make u correlated with c, as real predictions are
  for (let i = 0; i < uncond.size; i++) uncond.data[i] = f(0.8 * cond.data[i]! + 0.3 * uncond.data[i]!)
  return [cond, uncond]
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 2e-6): void {
  expect(actual.length).toBe(expected.length)
  let worst = 0
  let scale = 0
  for (let i = 0; i < actual.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!))
    scale = Math.max(scale, Math.abs(expected[i]!))
  }
  expect(worst / Math.max(scale, 1e-30)).toBeLessThanOrEqual(tolerance)
}

const base: NormalizedGuidanceOptions = {
  scale: 7.5, eta: 1, normThreshold: 15, normDim: null, useOriginalFormulation: false, formulation: "diffusers", momentum: null,
}

describe("normalizedGuidance against a transcription of diffusers", () => {
  const shape: [number, number, number, number] = [3, 4, 6, 5]
  const cases: { name: string; options: Partial<NormalizedGuidanceOptions>; axis: number | null }[] = [
    { name: "diffusers defaults", options: {}, axis: null },
    { name: "eta 0, threshold that bites", options: { eta: 0, normThreshold: 2.5 }, axis: null },
    { name: "no threshold, eta 0.3", options: { eta: 0.3, normThreshold: 0 }, axis: null },
    { name: "original formulation", options: { useOriginalFormulation: true, eta: 0, normThreshold: 4 }, axis: null },
    { name: "paper formulation", options: { formulation: "paper", eta: 0, normThreshold: 4 }, axis: null },
    { name: "normDim 1 (per pixel, over channels)", options: { normDim: [1], eta: 0.5, normThreshold: 1 }, axis: 1 },
    { name: "normDim -2", options: { normDim: [-2], eta: 0, normThreshold: 1.5 }, axis: -2 },
  ]
  for (const [seed, testCase] of cases.entries()) {
    it(testCase.name, () => {
      const [cond, uncond] = randomPair(seed, shape)
      const options = { ...base, ...testCase.options }
      const { guided } = normalizedGuidance(cond, uncond, options)
      const expected = referenceApg(cond.data, uncond.data, shape, {
        g: options.scale, eta: options.eta, threshold: options.normThreshold, axis: testCase.axis,
        original: options.useOriginalFormulation, paper: options.formulation === "paper",
      })
      expect(guided.shape).toEqual(shape)
      expect(guided.dtype).toBe("float32")
      expectClose(guided.data, expected.pred)
    })
  }

  it("follows the momentum buffer over several steps", () => {
    const options = { ...base, momentum: -0.5, eta: 0, normThreshold: 3 }
    let ours: Tensor<"float32"> | undefined
    let theirs: Float32Array | undefined
    for (let step = 0; step < 4; step++) {
      const [cond, uncond] = randomPair(100 + step, shape)
      const result = normalizedGuidance(cond, uncond, { ...options, previousAverage: ours })
      const expected = referenceApg(cond.data, uncond.data, shape, {
        g: 7.5, eta: 0, threshold: 3, axis: null, original: false, paper: false, momentum: -0.5, ...(theirs ? { avg: theirs } : {}),
      })
      expectClose(result.guided.data, expected.pred)
      expectClose(result.runningAverage!.data, expected.avg!)
      ours = result.runningAverage as Tensor<"float32">
      theirs = expected.avg
    }
  })

  it("with eta 1 and no threshold or momentum is CFG in every formulation", () => {
    const [cond, uncond] = randomPair(7, shape)
    const options = { ...base, normThreshold: 0 }
    const cfg = [...cond.data].map((c, i) => uncond.data[i]! + 7.5 * (c - uncond.data[i]!))
    expectClose(normalizedGuidance(cond, uncond, options).guided.data, cfg, 1e-5)
    expectClose(normalizedGuidance(cond, uncond, { ...options, formulation: "paper" }).guided.data, cfg, 1e-5)
  })

  it("projects in float64: the parallel part of an update along c is exactly removed with eta 0", () => {
    const cond = Tensor.fromArray([3, -1, 2, 0.5], [1, 4])
    const uncond = Tensor.fromArray([1.5, -0.5, 1, 0.25], [1, 4]) // c − u = c / 2, all parallel
    const { guided } = normalizedGuidance(cond, uncond, { ...base, eta: 0, normThreshold: 0, formulation: "paper" })
    expect([...guided.data]).toEqual([...cond.data]) // c + (g − 1)·0
  })

  it("works in float64 without rounding to float32", () => {
    const [c32, u32] = randomPair(9, shape)
    const cond = new Tensor("float64", Float64Array.from(c32.data), shape)
    const uncond = new Tensor("float64", Float64Array.from(u32.data), shape)
    const { guided } = normalizedGuidance(cond, uncond, { ...base, eta: 0.2 })
    expect(guided.dtype).toBe("float64")
    const expected = referenceApg(c32.data, u32.data, shape, { g: 7.5, eta: 0.2, threshold: 15, axis: null, original: false, paper: false })
    expectClose(guided.data, expected.pred, 1e-5)
  })

  it("refuses axis 0 and repeated axes in normDim, and mismatched predictions", () => {
    const [cond, uncond] = randomPair(1, [1, 2, 2, 2])
    expect(() => normalizedGuidance(cond, uncond, { ...base, normDim: [0] })).toThrow(/axis 0 is the batch/)
    expect(() => normalizedGuidance(cond, uncond, { ...base, normDim: [1, -3] })).toThrow(/same axis twice/)
    expect(() => normalizedGuidance(cond, Tensor.zeros([1, 2, 2]), base)).toThrow(/one dtype and shape/)
  })
})
