import { describe, expect, it } from "vitest"
import { Tensor } from "@pagkit/tensor"
import { guidance } from "@pagkit/guidance"
import { cfg } from "@pagkit/guidance-cfg"
import { pag } from "@pagkit/guidance-pag"
import { gatherRows, passInputs } from "./pixart-rows.js"

/** `[n, …rest]` whose row i is filled with `base + i`. */
function rows(n: number, rest: number[], base: number): Tensor<"float32"> {
  const size = rest.reduce((a, b) => a * b, 1)
  return new Tensor("float32", Float32Array.from({ length: n * size }, (_, i) => base + Math.floor(i / size)), [n, ...rest])
}

describe("passInputs", () => {
  it("lays rows out chunk-major [uncond, cond, perturbed] with their own latents, text and hooks", () => {
    const chain = guidance(cfg({ scale: 4.5 }), pag({ scale: 3, layers: ["transformer_blocks.1.attn1"] }))
    const plan = chain.plan({ stepIndex: 0, numSteps: 1, timestep: 999 }, { batchSize: 2 })
    const mask = (base: number): Tensor<"int32"> => new Tensor("int32", Int32Array.from({ length: 6 }, (_, i) => base + Math.floor(i / 3)), [2, 3])
    const inputs = passInputs(plan.passes[0]!, rows(2, [4, 2, 2], 0), {
      cond: { embeds: rows(2, [3, 8], 10), mask: mask(10) },
      uncond: { embeds: rows(2, [3, 8], 20), mask: mask(20) },
    })
    const firstOfRow = (t: Tensor): number[] => Array.from({ length: t.shape[0]! }, (_, r) => Number(t.data[r * (t.size / t.shape[0]!)]))
    expect(firstOfRow(inputs.sample)).toEqual([0, 1, 0, 1, 0, 1])
    expect(firstOfRow(inputs.encoderHiddenStates)).toEqual([20, 21, 10, 11, 10, 11])
    expect(firstOfRow(inputs.encoderAttentionMask)).toEqual([20, 21, 10, 11, 10, 11])
    expect(inputs.hooks.map((h) => h["identity-attention"] ?? [])).toEqual([[], [], [], [], ["transformer_blocks.1.attn1"], ["transformer_blocks.1.attn1"]])
  })

  it("gathers rows of any dtype", () => {
    const ids = new Tensor("int64", BigInt64Array.from([1n, 2n, 3n, 4n]), [2, 2])
    expect([...gatherRows(ids, [1, 1, 0]).data]).toEqual([3n, 4n, 3n, 4n, 1n, 2n])
  })
})
