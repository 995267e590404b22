import { describe, expect, it } from "vitest"
import { DDIMScheduler } from "./ddim.js"
import { EulerDiscreteScheduler } from "./euler-discrete.js"
import { SchedulerArgumentError } from "./errors.js"
import { HeunDiscreteScheduler } from "./heun-discrete.js"
import { denoisingStartTimesteps, img2imgTimesteps, truncateAtDenoisingEnd } from "./img2img.js"

const sd = {
  beta_schedule: "scaled_linear",
  beta_start: 0.00085,
  beta_end: 0.012,
  steps_offset: 1,
  timestep_spacing: "leading",
}

describe("img2imgTimesteps", () => {
  it("keeps the last ⌊N·strength⌋ steps and sets the begin index", () => {
    const scheduler = new EulerDiscreteScheduler(sd)
    const { timesteps, startIndex, numSteps } = img2imgTimesteps(scheduler, 10, 0.55)
    expect(numSteps).toBe(5)
    expect(startIndex).toBe(5)
    expect(timesteps).toEqual([401, 301, 201, 101, 1])
    expect(scheduler.beginIndex).toBe(5)
  })

  it("multiplies the start by the scheduler order (Heun)", () => {
    const scheduler = new HeunDiscreteScheduler(sd)
    const { timesteps, startIndex, numSteps } = img2imgTimesteps(scheduler, 10, 0.5)
    expect(startIndex).toBe(10)
    expect(numSteps).toBe(5)
    expect(timesteps.length).toBe(scheduler.timesteps.length - 10)
  })

  it("strength 1 runs everything", () => {
    const scheduler = new DDIMScheduler(sd)
    expect(img2imgTimesteps(scheduler, 4, 1).timesteps).toEqual([751, 501, 251, 1])
  })

  it("rejects strength outside (0, 1] and runs of zero steps", () => {
    const scheduler = new DDIMScheduler(sd)
    for (const s of [0, -0.1, 1.5, Number.NaN]) {
      expect(() => img2imgTimesteps(scheduler, 10, s)).toThrow(SchedulerArgumentError)
    }
    expect(() => img2imgTimesteps(scheduler, 10, 0.05)).toThrow(/runs no step/)
  })
})

describe("denoising_start / denoising_end", () => {
  it("hands off at the same timestep from both sides", () => {
    const base = new EulerDiscreteScheduler(sd)
    base.setTimesteps(10)
    const head = truncateAtDenoisingEnd(base, base.timesteps, 0.8)
    const refiner = new EulerDiscreteScheduler(sd)
    const tail = denoisingStartTimesteps(refiner, 10, 0.8)
    expect([...head, ...tail.timesteps]).toEqual(base.timesteps)
    expect(head).toEqual([901, 801, 701, 601, 501, 401, 301, 201])
    expect(tail.startIndex).toBe(8)
    expect(refiner.beginIndex).toBe(8)
  })

  it("adds a step for second-order schedulers when the count is even", () => {
    const heun = new HeunDiscreteScheduler(sd)
    const { numSteps } = denoisingStartTimesteps(heun, 10, 0.5)
    expect(numSteps % 2).toBe(1)
  })

  it("rejects fractions outside (0, 1) and start >= end", () => {
    const scheduler = new DDIMScheduler(sd)
    expect(() => denoisingStartTimesteps(scheduler, 10, 1)).toThrow(SchedulerArgumentError)
    expect(() => truncateAtDenoisingEnd(scheduler, [1], 0.5, 0.7)).toThrow(/smaller than denoisingEnd/)
  })
})
