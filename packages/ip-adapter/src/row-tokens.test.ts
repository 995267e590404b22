import { describe, expect, it } from "vitest"
import { Tensor } from "@pagkit/tensor"
import { IpAdapterInputError } from "./errors.js"
import { imageTokensForRows } from "./row-tokens.js"

const tokens = (value: number, n = 1) => new Tensor("float32", new Float32Array(n * 2 * 3).map((_, i) => value + Math.floor(i / 6) * 10), [n, 2, 3])

describe("imageTokensForRows", () => {
  it("lays rows out like the text embeddings: [neg, pos, pos] for CFG + PAG", () => {
    const out = imageTokensForRows({ cond: tokens(1), uncond: tokens(0) }, [{ conditioning: "uncond" }, { conditioning: "cond" }, { conditioning: "cond" }])
    expect(out.shape).toEqual([3, 2, 3])
    expect([out.data[0], out.data[6], out.data[12]]).toEqual([0, 1, 1])
  })

  it("picks each row's sample, broadcasting a single token row", () => {
    const out = imageTokensForRows({ cond: tokens(1, 2), uncond: tokens(0) }, [
      { conditioning: "uncond", sample: 1 },
      { conditioning: "cond", sample: 0 },
      { conditioning: "cond", sample: 1 },
    ])
    expect([out.data[0], out.data[6], out.data[12]]).toEqual([0, 1, 11])
  })

  it("needs unconditional tokens for uncond rows and enough samples", () => {
    expect(() => imageTokensForRows({ cond: tokens(1) }, [{ conditioning: "uncond" }])).toThrow(IpAdapterInputError)
    expect(() => imageTokensForRows({ cond: tokens(1, 2) }, [{ conditioning: "cond", sample: 2 }])).toThrow(/only 2/)
  })
})
