import { describe, expect, it } from "vitest"
import { EDMEulerScheduler } from "./edm-euler.js"
import { allFinite, runLoop, strictlyDecreasing } from "./internal/test-support.js"

describe("EDMEulerScheduler", () => {
  it("spans sigma_max to sigma_min with 0.25·ln σ timesteps", () => {
    const scheduler = new EDMEulerScheduler()
    scheduler.setTimesteps(10)
    expect(scheduler.sigmas?.[0]).toBe(80)
    expect(scheduler.sigmas?.[9]).toBeCloseTo(0.002, 8)
    expect(scheduler.sigmas?.[10]).toBe(0)
    expect(scheduler.timesteps[0]).toBeCloseTo(0.25 * Math.log(80), 6)
    expect(scheduler.initNoiseSigma).toBeCloseTo(Math.sqrt(6401), 12)
  })

  it("runs the exponential schedule, v_prediction and final sigma_min", () => {
    const scheduler = new EDMEulerScheduler({
      sigma_schedule: "exponential",
      prediction_type: "v_prediction",
      final_sigmas_type: "sigma_min",
    })
    scheduler.setTimesteps(7)
    expect(strictlyDecreasing(scheduler.sigmas!.slice(0, -1))).toBe(true)
    expect(scheduler.sigmas?.at(-1)).toBe(scheduler.sigmas?.at(-2))
    expect(allFinite(runLoop(scheduler))).toBe(true)
    expect(() => new EDMEulerScheduler({ sigma_schedule: "linear" })).toThrow(/sigma_schedule/)
  })
})
