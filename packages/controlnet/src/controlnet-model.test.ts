import { describe, expect, it } from "vitest"
import { Tensor } from "@pagkit/tensor"
import type { SessionIo, SessionLike } from "@pagkit/models-core"
import { ControlNet } from "./controlnet-model.js"

const io = (name: string): SessionIo => ({ name, dtype: "float32", shape: [] })

/** A ControlNet export without a `conditioning_scale` input: every residual is `value`. */
function exportWithoutScaleInput(value: number): SessionLike {
  const outputs = ["down_block_res_sample_0", "mid_block_res_sample"]
  return {
    inputs: ["sample", "timestep", "encoder_hidden_states", "controlnet_cond"].map(io),
    outputs: outputs.map(io),
    hasInput: (name) => ["sample", "timestep", "encoder_hidden_states", "controlnet_cond"].includes(name),
    run: async () => Object.fromEntries(outputs.map((n) => [n, new Tensor("float32", new Float32Array([value, -value]), [1, 2])])),
  }
}

describe("ControlNet.run", () => {
  it("scales the residuals by the float32 conditioning scale when the graph has no conditioning_scale input", async () => {
    const f = Math.fround
    const residual = f(1.000738) // f(r · 0.7) and f(r · f(0.7)) differ by one ulp for this value
    expect(f(residual * 0.7)).not.toBe(f(residual * f(0.7)))
    const controlnet = new ControlNet(exportWithoutScaleInput(residual))
    expect(controlnet.hasConditioningScaleInput).toBe(false)
    const out = await controlnet.run({
      sample: Tensor.zeros([1, 4, 2, 2]),
      timestep: 801,
      encoderHiddenStates: Tensor.zeros([1, 3, 8]),
      controlImage: Tensor.zeros([1, 3, 4, 4]),
      conditioningScale: 0.7,
    })
    // torch: `sample * conditioning_scale` casts the Python float to float32 first
    const expected = [f(residual * f(0.7)), f(-residual * f(0.7))]
    for (const name of controlnet.residualOutputs) expect(Array.from(out[name]!.data), name).toEqual(expected)
  })
})
