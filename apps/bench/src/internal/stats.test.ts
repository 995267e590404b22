import { describe, expect, it } from "vitest"
import { quantile, ratio, summarize } from "./stats.js"

describe("quantile", () => {
  it("interpolates linearly between order statistics (numpy's default)", () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5)
    expect(quantile([1, 2, 3, 4], 0.25)).toBeCloseTo(1.75, 12)
    expect(quantile([10], 0.75)).toBe(10)
    expect(quantile([0, 10], 1)).toBe(10)
  })

  it("rejects empty samples and q outside [0, 1]", () => {
    expect(() => quantile([], 0.5)).toThrow(/at least one run/)
    expect(() => quantile([1], 1.5)).toThrow(/\[0, 1\]/)
    expect(() => quantile([1], Number.NaN)).toThrow(/\[0, 1\]/)
  })
})

describe("summarize", () => {
  it("gives median, quartiles, range and relative spread regardless of order", () => {
    const s = summarize([14, 10, 12, 11, 13])
    expect(s).toEqual({ n: 5, median: 12, min: 10, max: 14, p25: 11, p75: 13, relativeSpread: 2 / 12 })
  })

  it("takes the mean of the middle pair for an even count", () => {
    expect(summarize([4, 1, 3, 2]).median).toBe(2.5)
  })

  it("does not reorder the caller's array", () => {
    const samples = [3, 1, 2]
    summarize(samples)
    expect(samples).toEqual([3, 1, 2])
  })

  it("reports spread 0 for a zero median and refuses no samples", () => {
    expect(summarize([0, 0, 0]).relativeSpread).toBe(0)
    expect(() => summarize([])).toThrow(/at least one sample/)
  })
})

describe("ratio", () => {
  it("divides, and is NaN for a zero denominator", () => {
    expect(ratio(3, 2)).toBe(1.5)
    expect(ratio(1, 0)).toBeNaN()
  })
})
