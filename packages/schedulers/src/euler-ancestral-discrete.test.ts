import { describe, expect, it } from "vitest"
import { TorchGenerator } from "@pagkit/tensor"
import { EulerAncestralDiscreteScheduler } from "./euler-ancestral-discrete.js"
import { allFinite, runLoop, testLatents } from "./internal/test-support.js"

const sd = {
  beta_schedule: "scaled_linear",
  beta_start: 0.00085,
  beta_end: 0.012,
  steps_offset: 1,
  timestep_spacing: "leading",
}

describe("EulerAncestralDiscreteScheduler", () => {
  it("is reproducible per generator seed and differs across seeds", () => {
    const run = (seed: number): Float32Array => {
      const scheduler = new EulerAncestralDiscreteScheduler(sd)
      scheduler.setTimesteps(4)
      const t = scheduler.timesteps[0]!
      return scheduler.step(testLatents(2), t, testLatents(1), { generator: new TorchGenerator(seed) }).prevSample.data
    }
    expect(run(5)).toEqual(run(5))
    expect(run(5)).not.toEqual(run(6))
  })

  it("draws from a random generator when none is given, and runs v_prediction", () => {
    const scheduler = new EulerAncestralDiscreteScheduler(sd)
    scheduler.setTimesteps(4)
    expect(allFinite(scheduler.step(testLatents(2), scheduler.timesteps[0]!, testLatents(1)).prevSample)).toBe(true)
    const v = new EulerAncestralDiscreteScheduler({
      ...sd,
      prediction_type: "v_prediction",
      rescale_betas_zero_snr: true,
    })
    v.setTimesteps(6)
    expect(allFinite(runLoop(v))).toBe(true)
    expect(() => new EulerAncestralDiscreteScheduler({ prediction_type: "sample" })).toThrow(/prediction_type/)
  })
})
