import { describe, expect, it } from "vitest"
import { allFinite, runLoop } from "./internal/test-support.js"
import { KDPM2AncestralDiscreteScheduler, KDPM2DiscreteScheduler } from "./kdpm2-discrete.js"

const sd = { beta_schedule: "scaled_linear" }

describe("KDPM2 schedulers", () => {
  it("interleave the log-midpoint timesteps between the main ones (order 2)", () => {
    const scheduler = new KDPM2DiscreteScheduler(sd)
    scheduler.setTimesteps(5)
    expect(scheduler.order).toBe(2)
    const ts = scheduler.timesteps
    expect(ts.length).toBe(9)
    for (let k = 1; k + 1 < ts.length; k += 2) {
      expect(ts[k]!).toBeLessThan(ts[k - 1]!) // midpoint below the previous main timestep
      expect(ts[k]!).toBeGreaterThan(ts[k + 1]!) // and above the next one
    }
    expect(scheduler.sigmas?.length).toBe(12)
  })

  it("run to finite latents with every sigma conversion", () => {
    for (const Class of [KDPM2DiscreteScheduler, KDPM2AncestralDiscreteScheduler]) {
      for (const option of ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"]) {
        const scheduler = new Class({ ...sd, [option]: true })
        scheduler.setTimesteps(6)
        expect(allFinite(runLoop(scheduler))).toBe(true)
      }
    }
  })

  it("round Karras timesteps to whole numbers like diffusers", () => {
    const scheduler = new KDPM2DiscreteScheduler({ ...sd, use_karras_sigmas: true })
    scheduler.setTimesteps(6)
    expect(scheduler.timesteps.filter((_, i) => i % 2 === 0).every(Number.isInteger)).toBe(true)
  })
})
