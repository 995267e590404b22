// cfgZeroStarGuidance against diffusers' own code run by torch (CPU, float32): test-data/torch-reference.safetensors,
// made by test-data/make-torch-reference.py (see there for the source lines).
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"
import { SafetensorsFile } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { cfgZeroStarGuidance } from "./optimized-scale.js"

interface PythonCase {
  guidance_scale: number
  use_original_formulation: boolean
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

describe("cfgZeroStarGuidance against diffusers run by torch", () => {
  for (const name of ["defaults", "original", "pixart_like"]) {
    it(name, () => {
      const c = cases[name]!
      const cond = tensors.get(`${name}.cond`)!
      const uncond = tensors.get(`${name}.uncond`)!
      const ours = cfgZeroStarGuidance(cond, uncond, c.guidance_scale, c.use_original_formulation)
      expect(ours.shape).toEqual(cond.shape)
      expect(relError(ours, tensors.get(`${name}.pred`)!)).toBeLessThan(1e-6)
    })
  }
})
