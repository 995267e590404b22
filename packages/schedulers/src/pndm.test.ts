import { describe, expect, it } from "vitest"
import { SchedulerArgumentError } from "./errors.js"
import { allFinite, runLoop } from "./internal/test-support.js"
import { PNDMScheduler } from "./pndm.js"

const sd = { beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012, steps_offset: 1 }

describe("PNDMScheduler", () => {
  it("repeats the second timestep with skip_prk_steps (PLMS warm-up)", () => {
    const scheduler = new PNDMScheduler({ ...sd, skip_prk_steps: true })
    scheduler.setTimesteps(5)
    expect(scheduler.timesteps).toEqual([801, 601, 601, 401, 201, 1])
    expect(allFinite(runLoop(scheduler))).toBe(true)
  })

  it("starts with Runge–Kutta steps without skip_prk_steps", () => {
    const scheduler = new PNDMScheduler(sd)
    scheduler.setTimesteps(10)
    // diffusers' PRK warm-up: the last four timesteps and their half-step midpoints, then PLMS
    expect(scheduler.timesteps.slice(0, 12)).toEqual([901, 851, 851, 801, 801, 751, 751, 701, 701, 651, 651, 601])
    expect(scheduler.timesteps.length).toBe(12 + 7)
    expect(allFinite(runLoop(scheduler))).toBe(true)
  })

  it("rejects fewer than four steps for the Runge–Kutta warm-up (diffusers cannot build that table)", () => {
    const scheduler = new PNDMScheduler(sd)
    for (const n of [1, 2, 3]) expect(() => scheduler.setTimesteps(n)).toThrow(/at least 4 inference steps/)
    scheduler.setTimesteps(4)
    expect(scheduler.timesteps.length).toBeGreaterThan(0)
    expect(allFinite(runLoop(scheduler))).toBe(true)
    const plms = new PNDMScheduler({ ...sd, skip_prk_steps: true })
    plms.setTimesteps(1)
    expect(plms.timesteps).toEqual([1])
  })

  it("supports v_prediction and rejects sample prediction", () => {
    const scheduler = new PNDMScheduler({ ...sd, skip_prk_steps: true, prediction_type: "v_prediction" })
    scheduler.setTimesteps(6)
    expect(allFinite(runLoop(scheduler))).toBe(true)
    expect(() => new PNDMScheduler({ prediction_type: "sample" })).toThrow(/prediction_type/)
    expect(() => scheduler.setTimesteps(0)).toThrow(SchedulerArgumentError)
  })
})
