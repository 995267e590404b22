import { describe, expect, it } from "vitest"
import {
  ASPECT_RATIO_256_BIN,
  ASPECT_RATIO_512_BIN,
  ASPECT_RATIO_1024_BIN,
  ASPECT_RATIO_2048_BIN,
  aspectRatioBinsFor,
  classifyHeightWidthBin,
} from "./aspect-ratio-bins.js"

describe("aspect-ratio bins (diffusers' tables)", () => {
  it("has diffusers' table sizes and square bins", () => {
    expect(ASPECT_RATIO_2048_BIN).toHaveLength(40)
    for (const [table, side] of [
      [ASPECT_RATIO_256_BIN, 256],
      [ASPECT_RATIO_512_BIN, 512],
      [ASPECT_RATIO_1024_BIN, 1024],
      [ASPECT_RATIO_2048_BIN, 2048],
    ] as const) {
      expect(table.find((b) => b.ratio === "1.0")).toMatchObject({ height: side, width: side })
    }
    expect(ASPECT_RATIO_1024_BIN.slice(0, 33).map((b) => b.ratio)).toEqual(ASPECT_RATIO_512_BIN.map((b) => b.ratio))
  })

  it("picks the table by transformer sample_size, as the Sigma pipeline does", () => {
    expect(aspectRatioBinsFor(256)).toBe(ASPECT_RATIO_2048_BIN)
    expect(aspectRatioBinsFor(128)).toBe(ASPECT_RATIO_1024_BIN)
    expect(aspectRatioBinsFor(64)).toBe(ASPECT_RATIO_512_BIN)
    expect(aspectRatioBinsFor(32)).toBe(ASPECT_RATIO_256_BIN)
    expect(aspectRatioBinsFor(16)).toBeUndefined()
  })

  it("classifies by the closest ratio (height / width)", () => {
    expect(classifyHeightWidthBin(1024, 1024, ASPECT_RATIO_1024_BIN)).toEqual({ height: 1024, width: 1024 })
    expect(classifyHeightWidthBin(768, 1360, ASPECT_RATIO_1024_BIN)).toEqual({ height: 768, width: 1344 }) // 0.5647 -> "0.57"
    expect(classifyHeightWidthBin(2000, 500, ASPECT_RATIO_512_BIN)).toEqual({ height: 1024, width: 256 }) // 4.0
    expect(classifyHeightWidthBin(100, 1000, ASPECT_RATIO_256_BIN)).toEqual({ height: 128, width: 512 }) // below the table
  })

  it("breaks ties toward the first key, like Python's min", () => {
    // ar = 0.325 sits halfway between "0.32" and "0.33" (same double arithmetic as Python)
    expect(classifyHeightWidthBin(325, 1000, ASPECT_RATIO_1024_BIN)).toEqual({ height: 576, width: 1792 })
  })
})
