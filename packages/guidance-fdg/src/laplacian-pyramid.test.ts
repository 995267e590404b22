import { describe, expect, it } from "vitest"
import { Tensor, TorchGenerator } from "@pagkit/tensor"
import { maxRelError, referencePyramid, referenceRebuild } from "./kornia-reference.test-helpers.js"
import { buildImageFromPyramid, buildLaplacianPyramid, pyramidSize } from "./laplacian-pyramid.js"

describe("buildLaplacianPyramid against a transcription of kornia", () => {
  const cases: [number[], number][] = [
    [[2, 3, 16, 16], 2],
    [[1, 4, 16, 16], 3],
    [[1, 2, 8, 12], 2], // one side 2^k: kornia does not pad, sizes line up
    [[1, 2, 12, 20], 3], // neither side 2^k: kornia pads to 16 × 32
    [[1, 1, 5, 7], 1],
  ]
  for (const [seed, [shape, levels]] of cases.entries()) {
    it(`${shape.join("×")}, ${levels} levels`, () => {
      const x = new TorchGenerator(seed).randn(shape)
      const ours = buildLaplacianPyramid(x, levels)
      const theirs = referencePyramid(x, levels)
      expect(ours.levels.map((l) => l.shape)).toEqual(theirs.map((l) => l.shape))
      ours.levels.forEach((level, i) => expect(maxRelError(level.data, theirs[i]!.data)).toBeLessThan(1e-6))
      // rebuilding gives diffusers' result (cropped back to the input where kornia padded)
      const rebuilt = buildImageFromPyramid(ours.levels, ours.size)
      expect(rebuilt.shape).toEqual(shape)
      const reference = referenceRebuild(theirs)
      const [, , h, w] = shape as [number, number, number, number]
      const [, , H, W] = reference.shape as number[] as [number, number, number, number]
      const cropped = Array.from({ length: rebuilt.size }, (_, k) => {
        const plane = Math.floor(k / (h * w))
        const y = Math.floor((k % (h * w)) / w)
        return reference.data[(plane * H + y) * W + (k % w)]!
      })
      expect(maxRelError(rebuilt.data, cropped)).toBeLessThan(1e-6)
      // and the Laplacian identity: the rebuilt image is the input up to rounding
      expect(maxRelError(rebuilt.data, x.data)).toBeLessThan(1e-6)
    })
  }

  it("pads where kornia would raise a shape mismatch (one side 2^k, the other odd), so every size rebuilds", () => {
    expect(pyramidSize(16, 13, 2)).toEqual({ height: 16, width: 16 })
    expect(pyramidSize(16, 12, 3)).toEqual({ height: 16, width: 12 })
    expect(pyramidSize(20, 12, 2)).toEqual({ height: 32, width: 16 })
    const x = new TorchGenerator(9).randn([1, 2, 16, 13])
    const pyramid = buildLaplacianPyramid(x, 2)
    expect(pyramid.levels[0]!.shape).toEqual([1, 2, 16, 16])
    expect(maxRelError(buildImageFromPyramid(pyramid.levels, pyramid.size).data, x.data)).toBeLessThan(1e-6)
  })

  it("explains levels that are too small and non-image predictions", () => {
    expect(() => buildLaplacianPyramid(Tensor.zeros([1, 1, 4, 4]), 3)).toThrow(/too small for the 5×5 blur/)
    expect(() => buildLaplacianPyramid(Tensor.zeros([1, 16]), 2)).toThrow(/\[batch, channels, height, width\]/)
  })

  it("keeps float64 in float64", () => {
    const x32 = new TorchGenerator(3).randn([1, 1, 8, 8])
    const x = new Tensor("float64", Float64Array.from(x32.data), [1, 1, 8, 8])
    const pyramid = buildLaplacianPyramid(x, 2)
    expect(pyramid.levels[0]!.dtype).toBe("float64")
    expect(maxRelError(buildImageFromPyramid(pyramid.levels, pyramid.size).data, x.data)).toBeLessThan(1e-14)
  })
})
