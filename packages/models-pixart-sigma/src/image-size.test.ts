import { describe, expect, it } from "vitest"
import { PixArtSizeError } from "./errors.js"
import { planPixArtSize } from "./image-size.js"

const TINY = { sampleSize: 16, vaeScaleFactor: 2, patchSize: 2, fixedLatentSize: [16, 16] as const }
const REAL = { sampleSize: 128, vaeScaleFactor: 8, patchSize: 2 }

function sizeError(fn: () => unknown): PixArtSizeError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(PixArtSizeError)
    return error as PixArtSizeError
  }
  throw new Error("expected a PixArtSizeError")
}

describe("planPixArtSize", () => {
  it("defaults to sample_size · vae_scale_factor", () => {
    expect(planPixArtSize({}, TINY)).toMatchObject({ height: 32, width: 32, latentHeight: 16, latentWidth: 16, binned: false })
    expect(planPixArtSize({}, REAL)).toMatchObject({ height: 1024, width: 1024, binned: false })
  })

  it("bins to the closest aspect ratio and keeps the request as output size", () => {
    const plan = planPixArtSize({ height: 768, width: 1360 }, REAL)
    expect(plan).toMatchObject({ height: 768, width: 1344, outputHeight: 768, outputWidth: 1360, latentWidth: 168, binned: true })
    expect(planPixArtSize({ height: 768, width: 1360, useResolutionBinning: false }, { ...REAL })).toMatchObject({
      height: 768,
      width: 1360,
      binned: false,
    })
  })

  it("names the one size a fixed-size transformer takes", () => {
    const error = sizeError(() => planPixArtSize({ height: 64, width: 64 }, TINY))
    expect(error.message).toContain("32×32")
    expect(error.supported).toEqual([[32, 32]])
    expect(sizeError(() => planPixArtSize({ height: 32, width: 48, useResolutionBinning: false }, TINY)).message).toContain("height 32, width 32")
  })

  it("accepts the fixed size with binning on although diffusers has no table for sample_size 16", () => {
    expect(planPixArtSize({ height: 32, width: 32, useResolutionBinning: true }, TINY).binned).toBe(false)
  })

  it("explains binning without a table (diffusers: Invalid sample size)", () => {
    const error = sizeError(() => planPixArtSize({}, { sampleSize: 48, vaeScaleFactor: 8, patchSize: 2 }))
    expect(error.message).toContain("useResolutionBinning: false")
  })

  it("rejects sizes that are not multiples of vae_scale_factor · patch_size", () => {
    const error = sizeError(() => planPixArtSize({ height: 1000, width: 1024, useResolutionBinning: false }, REAL))
    expect(error.message).toContain("992 or 1008")
    expect(() => planPixArtSize({ height: 0, width: 32 }, TINY)).toThrow(PixArtSizeError)
  })
})
