import { describe, expect, it } from "vitest"
import { HeunDiscreteScheduler } from "./heun-discrete.js"
import { allFinite, runLoop, testLatents } from "./internal/test-support.js"

const sd = { beta_schedule: "scaled_linear" }

describe("HeunDiscreteScheduler", () => {
  it("has order 2 and visits every inner timestep twice", () => {
    const scheduler = new HeunDiscreteScheduler(sd)
    scheduler.setTimesteps(5)
    expect(scheduler.order).toBe(2)
    const ts = scheduler.timesteps
    expect(ts.length).toBe(9)
    expect(ts[1]).toBe(ts[2])
    expect(ts[7]).toBe(ts[8])
    expect(scheduler.sigmas?.length).toBe(10)
  })

  it("alternates first and second order, returning to the first after each pair", () => {
    const scheduler = new HeunDiscreteScheduler(sd)
    scheduler.setTimesteps(3)
    const [t0, t1] = scheduler.timesteps
    const x = testLatents(1)
    expect(scheduler.stateInFirstOrder).toBe(true)
    scheduler.step(testLatents(2), t0!, x)
    expect(scheduler.stateInFirstOrder).toBe(false)
    scheduler.step(testLatents(2), t1!, x)
    expect(scheduler.stateInFirstOrder).toBe(true)
  })

  it("runs Karras sigmas and clip_sample", () => {
    const scheduler = new HeunDiscreteScheduler({ ...sd, use_karras_sigmas: true, clip_sample: true })
    scheduler.setTimesteps(6)
    expect(allFinite(runLoop(scheduler))).toBe(true)
  })
})
