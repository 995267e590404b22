// The worked example of docs/guides/custom-guidance.md, run for real. Keep the two in sync.
import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { Tensor } from "@pagkit/tensor"
import { createFakeDenoiser } from "@pagkit/guidance/testing"
import { Predictions as PredictionsMap, addPredictions, guidance, scaledDifference, validateScale } from "./index.js"
import type { BranchSpec, GuidanceMiddleware, Predictions, StepContext } from "./index.js"

// --- example start ---
/** Options of cfgZeroStar(). */
interface CfgZeroStarOptions {
  readonly scale: number
}

/**
 * CFG-Zero* (Fan et al. 2025; diffusers `guiders/classifier_free_zero_star_guidance.py`):
 * scale u by α = ⟨c, u⟩ / (‖u‖² + 1e-8) per sample, then u' + g(c − u').
 */
function cfgZeroStar(options: CfgZeroStarOptions): GuidanceMiddleware {
  const scale = validateScale(options.scale, "cfgZeroStar() scale", 0) // validate once
  const needs: BranchSpec[] = [
    { name: "uncond", conditioning: "uncond" },
    { name: "cond", conditioning: "cond" },
  ]
  return {
    name: "cfg-zero-star",
    branches: () => (scale > 1 ? needs : []), // off: ask for nothing, no uncond row is computed
    combine(prev: Tensor | undefined, preds: Predictions, _ctx: StepContext) {
      if (scale <= 1) return prev
      const noisePredText = preds.get("cond") // [batch, …]
      const noisePredUncond = preds.get("uncond")
      const c = noisePredText.data as Float32Array
      const u = noisePredUncond.data as Float32Array
      const batch = noisePredText.shape[0]!
      const perSample = c.length / batch
      const scaledUncond = new Float32Array(u.length)
      for (let b = 0; b < batch; b++) {
        let dot = 0
        let norm = 0
        for (let i = b * perSample; i < (b + 1) * perSample; i++) {
          dot += c[i]! * u[i]!
          norm += u[i]! * u[i]!
        }
        const alpha = dot / (norm + 1e-8)
        for (let i = b * perSample; i < (b + 1) * perSample; i++) scaledUncond[i] = alpha * u[i]!
      }
      const uncondStar = new Tensor("float32", scaledUncond, noisePredUncond.shape)
      const guided = addPredictions(uncondStar, scaledDifference(scale, noisePredText, uncondStar))
      // Fold contract: add our term to what the chain has so far (undefined = plain c).
      return prev === undefined ? guided : addPredictions(prev, scaledDifference(1, guided, noisePredText))
    },
  }
}
// --- example end ---

describe("custom guidance example (CFG-Zero*)", () => {
  const ctx: StepContext = { stepIndex: 0, numSteps: 20, timestep: 999 }

  it("computes α-scaled CFG per sample", async () => {
    const fake = createFakeDenoiser({ rowShape: [4, 3, 3] })
    const out = await guidance(cfgZeroStar({ scale: 4 })).step(ctx, { batchSize: 2, denoise: fake.denoise })
    expect(fake.rows.map((r) => r.branch)).toEqual(["uncond", "uncond", "cond", "cond"])
    const c = fake.branchOutput("cond", undefined, 2).data
    const u = fake.branchOutput("uncond", undefined, 2).data
    for (const b of [0, 1]) {
      const range = Array.from({ length: 36 }, (_, i) => b * 36 + i)
      const alpha = range.reduce((s, i) => s + c[i]! * u[i]!, 0) / (range.reduce((s, i) => s + u[i]! ** 2, 0) + 1e-8)
      for (const i of range) {
        const textbook = alpha * u[i]! + 4 * (c[i]! - alpha * u[i]!)
        expect(Math.abs(out.data[i] as number - textbook)).toBeLessThan(1e-4)
      }
    }
  })

  it("gives c when u is parallel to c, and is off for scale <= 1", () => {
    const c = Tensor.fromArray([1, -2, 3, 0.5], [1, 4])
    const u = Tensor.fromArray([2, -4, 6, 1], [1, 4])
    const out = guidance(cfgZeroStar({ scale: 7 })).combine(new PredictionsMap({ cond: c, uncond: u }), ctx)
    for (let i = 0; i < 4; i++) expect(out.data[i] as number).toBeCloseTo(c.data[i]!, 5)
    expect(cfgZeroStar({ scale: 1 }).branches(ctx)).toEqual([])
    expect(() => cfgZeroStar({ scale: -1 })).toThrow(/cfgZeroStar\(\) scale/)
  })

  it("is the code shown in docs/guides/custom-guidance.md", () => {
    const source = readFileSync(new URL(import.meta.url), "utf8")
    const example = source.split("// --- example start ---\n")[1]!.split("// --- example end ---")[0]!.trim()
    const guide = readFileSync(new URL("../../../docs/guides/custom-guidance.md", import.meta.url), "utf8")
    expect(guide).toContain(example)
  })
})
