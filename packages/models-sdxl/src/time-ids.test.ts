import { describe, expect, it } from "vitest"
import { ModelInputError } from "@pagkit/models-core"
import { addTimeIds, sdxlTimeIds, timeIdsTensor } from "./time-ids.js"

describe("time ids", () => {
  it("builds 6 values, or 5 with an aesthetic score", () => {
    expect(addTimeIds({ originalSize: [64, 48], targetSize: [64, 48] })).toEqual([64, 48, 0, 0, 64, 48])
    expect(addTimeIds({ originalSize: [1024, 1024], cropsCoordsTopLeft: [8, 16], targetSize: [512, 512], aestheticScore: 6 })).toEqual([1024, 1024, 8, 16, 6])
  })

  it("text2img: negatives equal the positives unless both negative sizes are given", () => {
    const same = sdxlTimeIds({ originalSize: [64, 64], targetSize: [64, 64], negativeOriginalSize: [32, 32] })
    expect(same.negativeTimeIds).toEqual([64, 64, 0, 0, 64, 64])
    const own = sdxlTimeIds({
      originalSize: [64, 64],
      cropsCoordsTopLeft: [4, 4],
      targetSize: [64, 64],
      negativeOriginalSize: [32, 32],
      negativeCropsCoordsTopLeft: [1, 2],
      negativeTargetSize: [48, 48],
    })
    expect(own.timeIds).toEqual([64, 64, 4, 4, 64, 64])
    expect(own.negativeTimeIds).toEqual([32, 32, 1, 2, 48, 48])
  })

  it("img2img: aesthetic scores (6 / 2.5) and diffusers' use of the positive crop in 6-value negatives", () => {
    const aesthetic = sdxlTimeIds({ pipeline: "img2img", requiresAestheticsScore: true, originalSize: [64, 64], targetSize: [64, 64] })
    expect(aesthetic.timeIds).toEqual([64, 64, 0, 0, 6])
    expect(aesthetic.negativeTimeIds).toEqual([64, 64, 0, 0, 2.5])
    const plain = sdxlTimeIds({
      pipeline: "img2img",
      originalSize: [64, 64],
      cropsCoordsTopLeft: [2, 2],
      negativeCropsCoordsTopLeft: [9, 9],
      targetSize: [64, 64],
      negativeTargetSize: [32, 32],
    })
    expect(plain.negativeTimeIds).toEqual([64, 64, 2, 2, 32, 32])
  })

  it("checks the UNet's time_ids width", () => {
    expect(() => sdxlTimeIds({ originalSize: [64, 64], targetSize: [64, 64], expectedLength: 5 })).toThrow(ModelInputError)
    expect(() =>
      sdxlTimeIds({ pipeline: "img2img", requiresAestheticsScore: true, originalSize: [64, 64], targetSize: [64, 64], expectedLength: 6 }),
    ).toThrow(/disable requires_aesthetics_score/)
  })

  it("stacks rows into a float32 tensor", () => {
    const t = timeIdsTensor([[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]])
    expect(t.shape).toEqual([2, 6])
    expect(t.dtype).toBe("float32")
  })
})
