import { describe, expect, it } from "vitest"
import { Tensor, TorchGenerator } from "@pagkit/tensor"
import { DDPMScheduler } from "./ddpm.js"
import { InvalidSchedulerConfigError, SchedulerArgumentError } from "./errors.js"
import { allFinite, runLoop, testLatents } from "./internal/test-support.js"

describe("DDPMScheduler", () => {
  it("draws noise on every step but the last (t = 0)", () => {
    const scheduler = new DDPMScheduler({ clip_sample: false, timestep_spacing: "linspace" })
    scheduler.setTimesteps(5)
    expect(scheduler.timesteps).toEqual([999, 749, 500, 250, 0])
    const draws: number[] = []
    const generator = new TorchGenerator(3)
    const randn = generator.randn.bind(generator)
    generator.randn = ((shape, options) => {
      draws.push(1)
      return randn(shape, options)
    }) as typeof generator.randn
    for (const t of scheduler.timesteps) scheduler.step(testLatents(), t, testLatents(), { generator })
    expect(draws.length).toBe(4)
    expect(() => scheduler.step(testLatents(1, [1, 4, 2, 2]), 0, testLatents())).toThrow(SchedulerArgumentError)
  })

  it("uses the next custom timestep as the previous one", () => {
    const scheduler = new DDPMScheduler()
    scheduler.setTimesteps({ timesteps: [900, 500, 100] })
    expect(scheduler.previousTimestep(500)).toBe(100)
    expect(scheduler.previousTimestep(100)).toBe(-1)
    expect(() => scheduler.setTimesteps({ timesteps: [100, 500] })).toThrow(/descending/)
    expect(() => scheduler.setTimesteps({ timesteps: [1000] })).toThrow(SchedulerArgumentError)
  })

  it("runs every fixed variance type and the sigmoid schedule", () => {
    // fixed_large_log is left out: diffusers takes √(log β) there, which is NaN (and so is ours)
    for (const variance_type of ["fixed_small", "fixed_small_log", "fixed_large"]) {
      const scheduler = new DDPMScheduler({ variance_type, beta_schedule: "sigmoid" })
      scheduler.setTimesteps(6)
      expect(allFinite(runLoop(scheduler))).toBe(true)
    }
  })

  it("splits learned_range variance channels off the model output", () => {
    const scheduler = new DDPMScheduler({ variance_type: "learned_range" })
    scheduler.setTimesteps(4)
    const sample = testLatents(1, [1, 2, 2, 2])
    const output = new Tensor("float32", new Float32Array(16).fill(0.1), [1, 4, 2, 2])
    const { prevSample } = scheduler.step(output, scheduler.timesteps[0]!, sample, { generator: new TorchGenerator(0) })
    expect(prevSample.shape).toEqual([1, 2, 2, 2])
    expect(() => new DDPMScheduler({ variance_type: "wide" })).toThrow(InvalidSchedulerConfigError)
  })
})
