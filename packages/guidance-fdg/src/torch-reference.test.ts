// FDG and kornia's pyramid against diffusers' and kornia's own code run by torch (CPU, float32):
// test-data/torch-reference.safetensors, made by test-data/make-torch-reference.py (see there for the source lines).
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"
import { rescaleNoiseCfg } from "@pagkit/guidance-cfg"
import { SafetensorsFile } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { frequencyDecoupledGuidance } from "./frequency-decoupled.js"
import { buildLaplacianPyramid } from "./laplacian-pyramid.js"

interface PythonCase {
  guidance_scales: number[]
  parallel_weights: number[]
  guidance_rescale: number[]
  guidance_rescale_space: "data" | "freq"
  use_original_formulation: boolean
  upcast_to_double: boolean
  enabled_levels: boolean[]
  shape: number[]
}

const path = fileURLToPath(new URL("../test-data/torch-reference.safetensors", import.meta.url))
let cases: Record<string, PythonCase>
let tensors: Map<string, Tensor>

/** Largest |ours − torch| over the largest |torch|. */
function relError(ours: ArrayLike<number>, theirs: ArrayLike<number>): number {
  let worst = 0
  let scale = 1e-30
  for (let i = 0; i < theirs.length; i++) {
    worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!))
    scale = Math.max(scale, Math.abs(theirs[i]!))
  }
  return worst / scale
}

/** The top-left `height × width` window of every plane of `[N, C, H', W']`. */
function crop(t: Tensor, height: number, width: number): Float32Array {
  const [n, c, h, w] = t.shape as [number, number, number, number]
  const out = new Float32Array(n * c * height * width)
  for (let plane = 0; plane < n * c; plane++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) out[(plane * height + y) * width + x] = t.data[(plane * h + y) * w + x] as number
    }
  }
  return out
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

describe("fdg against diffusers + kornia run by torch", () => {
  const names = ["defaults", "parallel_weights", "no_upcast", "three_levels_original", "level_off", "freq_rescale", "data_rescale", "one_side_pow2", "padded", "latent_4x3"]
  for (const name of names) {
    it(name, () => {
      const c = cases[name]!
      const cond = tensors.get(`${name}.cond`)!
      const uncond = tensors.get(`${name}.uncond`)!
      // kornia's pyramid, level by level
      const pyramid = buildLaplacianPyramid(cond, c.guidance_scales.length)
      pyramid.levels.forEach((level, i) => {
        const theirs = tensors.get(`${name}.level${i}`)!
        expect(level.shape).toEqual(theirs.shape)
        expect(relError(level.data as Float32Array, theirs.data as Float32Array)).toBeLessThan(1e-6)
      })
      // the whole step (data-space rescale included here, as diffusers' forward does it)
      let ours = frequencyDecoupledGuidance(cond, uncond, {
        scales: c.guidance_scales,
        parallelWeights: c.parallel_weights,
        rescale: c.guidance_rescale,
        rescaleSpace: c.guidance_rescale_space,
        useOriginalFormulation: c.use_original_formulation,
        upcastToDouble: c.upcast_to_double,
        activeLevels: c.enabled_levels,
      })
      // data-space rescale runs in the middleware's finish (rescaleNoiseCfg against c); apply it the same way here
      if (c.guidance_rescale_space === "data" && c.guidance_rescale[0]! > 0) ours = rescaleNoiseCfg(ours, cond, c.guidance_rescale[0]!)
      const theirs = tensors.get(`${name}.pred`)!
      const [, , height, width] = c.shape as [number, number, number, number]
      expect(ours.shape).toEqual(c.shape) // diffusers keeps kornia's padded size; pagkit crops back
      expect(relError(ours.data as Float32Array, crop(theirs, height, width))).toBeLessThan(2e-6)
    })
  }
})
