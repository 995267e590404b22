// apg's math against diffusers' own code run by torch (CPU, float32): test-data/torch-reference.safetensors,
// made by test-data/make-torch-reference.py (see there for the source lines).
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"
import { SafetensorsFile } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { normalizedGuidance } from "./normalized-guidance.js"
import type { NormalizedGuidanceOptions } from "./normalized-guidance.js"

interface PythonCase {
  guidance_scale: number
  eta: number
  norm_threshold: number
  use_original_formulation?: boolean
  norm_dim?: number | number[]
  paper?: boolean
  momentum?: number
  steps?: number
}

const path = fileURLToPath(new URL("../test-data/torch-reference.safetensors", import.meta.url))
let cases: Record<string, PythonCase>
let tensors: Map<string, Tensor>

/** Largest |ours − torch| over the largest |torch|. */
function relError(ours: Tensor, theirs: Tensor): number {
  let worst = 0
  let scale = 1e-30
  for (let i = 0; i < theirs.size; i++) {
    worst = Math.max(worst, Math.abs((ours.data[i] as number) - (theirs.data[i] as number)))
    scale = Math.max(scale, Math.abs(theirs.data[i] as number))
  }
  return worst / scale
}

function options(c: PythonCase): NormalizedGuidanceOptions {
  return {
    scale: c.guidance_scale,
    eta: c.eta,
    normThreshold: c.norm_threshold,
    normDim: c.norm_dim === undefined ? null : typeof c.norm_dim === "number" ? [c.norm_dim] : c.norm_dim,
    useOriginalFormulation: c.use_original_formulation ?? false,
    formulation: c.paper === true ? "paper" : "diffusers",
    momentum: c.momentum ?? null,
  }
}

beforeAll(async () => {
  const file = await SafetensorsFile.open(path)
  try {
    cases = JSON.parse(file.metadata["cases"]!) as Record<string, PythonCase>
    tensors = new Map()
    for (const name of file.names) tensors.set(name, await file.read(name))
  } finally {
    await file.close()
  }
})

describe("normalizedGuidance against diffusers run by torch", () => {
  for (const name of ["defaults", "eta0_threshold", "no_threshold", "original", "paper", "norm_dim_1", "norm_dim_-2"]) {
    it(name, () => {
      const { guided } = normalizedGuidance(tensors.get(`${name}.cond`)!, tensors.get(`${name}.uncond`)!, options(cases[name]!))
      expect(relError(guided, tensors.get(`${name}.pred`)!)).toBeLessThan(1e-6)
    })
  }

  it("momentum over four steps", () => {
    let average: Tensor | undefined
    for (let step = 0; step < cases["momentum"]!.steps!; step++) {
      const result = normalizedGuidance(tensors.get(`momentum.${step}.cond`)!, tensors.get(`momentum.${step}.uncond`)!, {
        ...options(cases["momentum"]!),
        previousAverage: average as never,
      })
      expect(relError(result.guided, tensors.get(`momentum.${step}.pred`)!)).toBeLessThan(1e-6)
      expect(relError(result.runningAverage!, tensors.get(`momentum.${step}.avg`)!)).toBeLessThan(1e-6)
      average = result.runningAverage
    }
  })
})
