import { describe, expect, it } from "vitest"
import { Tensor, TorchGenerator } from "@pagkit/tensor"
import { DDIMScheduler } from "./ddim.js"
import { InvalidSchedulerConfigError, SchedulerArgumentError, SchedulerStateError } from "./errors.js"
import { allFinite, runLoop, strictlyDecreasing, testLatents } from "./internal/test-support.js"

const sd = {
  beta_schedule: "scaled_linear",
  beta_start: 0.00085,
  beta_end: 0.012,
  steps_offset: 1,
  clip_sample: false,
  set_alpha_to_one: false,
}

describe("DDIMScheduler", () => {
  it("spaces timesteps for every spacing, decreasing", () => {
    for (const timestep_spacing of ["leading", "trailing", "linspace"]) {
      const scheduler = new DDIMScheduler({ ...sd, timestep_spacing })
      scheduler.setTimesteps(13)
      expect(scheduler.timesteps.length).toBe(13)
      expect(strictlyDecreasing(scheduler.timesteps)).toBe(true)
      expect(scheduler.timesteps.every((t) => Number.isInteger(t) && t >= 0 && t < 1000)).toBe(true)
    }
  })

  it("recovers x0 exactly when the model predicts the true noise", () => {
    const scheduler = new DDIMScheduler(sd)
    scheduler.setTimesteps(10)
    const x0 = testLatents(3)
    const noise = testLatents(4)
    const t = scheduler.timesteps[0]!
    const noisy = scheduler.addNoise(x0, noise, [t])
    const { predOriginalSample } = scheduler.step(noise, t, noisy)
    predOriginalSample!.data.forEach((v, i) => expect(v).toBeCloseTo(x0.data[i]!, 4))
  })

  it("clips x0 with clip_sample and supports v_prediction and sample", () => {
    for (const prediction_type of ["v_prediction", "sample"]) {
      const scheduler = new DDIMScheduler({ ...sd, prediction_type, clip_sample: true })
      scheduler.setTimesteps(5)
      const out = scheduler.step(testLatents(2), scheduler.timesteps[0]!, testLatents(5))
      expect(out.predOriginalSample!.data.every((v) => Math.abs(v) <= 1)).toBe(true)
    }
  })

  it("adds eta-scaled noise from varianceNoise", () => {
    const scheduler = new DDIMScheduler(sd)
    scheduler.setTimesteps(10)
    const x = testLatents(1)
    const eps = testLatents(2)
    const t = scheduler.timesteps[2]!
    const plain = scheduler.step(eps, t, x).prevSample
    const zero = new Tensor("float32", new Float32Array(64), [1, 4, 4, 4])
    const withZeroNoise = scheduler.step(eps, t, x, { eta: 1, varianceNoise: zero }).prevSample
    expect(withZeroNoise.data).not.toEqual(plain.data) // eta shrinks the direction term
    expect(() => scheduler.step(eps, t, x, { eta: 1, varianceNoise: zero, generator: new TorchGenerator(0) })).toThrow(
      /either generator or varianceNoise/,
    )
  })

  it("runs a thresholded loop to finite values", () => {
    const scheduler = new DDIMScheduler({ ...sd, thresholding: true, sample_max_value: 2 })
    scheduler.setTimesteps(8)
    expect(allFinite(runLoop(scheduler))).toBe(true)
  })

  it("rejects bad step counts, timesteps and configs", () => {
    const scheduler = new DDIMScheduler(sd)
    expect(() => scheduler.step(testLatents(), 1, testLatents())).toThrow(SchedulerStateError)
    for (const n of [0, -1, 1001, 2.5]) expect(() => scheduler.setTimesteps(n)).toThrow(SchedulerArgumentError)
    scheduler.setTimesteps(10)
    expect(() => scheduler.step(testLatents(), 1000, testLatents())).toThrow(SchedulerArgumentError)
    expect(() => new DDIMScheduler({ prediction_type: "flow" })).toThrow(InvalidSchedulerConfigError)
    expect(() => new DDIMScheduler({ timestep_spacing: "even" })).toThrow(/timestep_spacing/)
  })
})
