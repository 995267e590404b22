import { describe, expect, it } from "vitest"
import { SchedulerArgumentError, SchedulerStateError } from "./errors.js"
import { allFinite, runLoop, testLatents } from "./internal/test-support.js"
import { LCMScheduler } from "./lcm.js"
import { TCDScheduler } from "./tcd.js"

describe("LCMScheduler and TCDScheduler", () => {
  it("draw timesteps from the original_inference_steps grid", () => {
    const scheduler = new LCMScheduler()
    scheduler.setTimesteps(4)
    expect(scheduler.timesteps).toEqual([999, 759, 499, 259])
    scheduler.setTimesteps({ numInferenceSteps: 2, strength: 0.5 })
    expect(scheduler.timesteps).toEqual([499, 259])
  })

  it("reject more steps than the grid has and bad strengths", () => {
    const scheduler = new LCMScheduler()
    expect(() => scheduler.setTimesteps(51)).toThrow(SchedulerArgumentError)
    expect(() => scheduler.setTimesteps({ numInferenceSteps: 4, strength: 0 })).toThrow(/strength/)
    expect(() => scheduler.setTimesteps({ timesteps: [259, 499] })).toThrow(/descending/)
  })

  it("return the last denoised sample unchanged by noise on the final step", () => {
    for (const scheduler of [new LCMScheduler(), new TCDScheduler()]) {
      scheduler.setTimesteps(3)
      expect(allFinite(runLoop(scheduler))).toBe(true)
    }
  })

  it("TCD takes the whole train grid when original_inference_steps is overridden", () => {
    const scheduler = new TCDScheduler()
    scheduler.setTimesteps({ numInferenceSteps: 4, originalInferenceSteps: 1000 })
    expect(scheduler.timesteps).toEqual([999, 749, 499, 249])
    // the full grid does not lift diffusers' cap of num_inference_steps <= original_inference_steps
    expect(() => scheduler.setTimesteps({ numInferenceSteps: 8, originalInferenceSteps: 4 })).toThrow(SchedulerArgumentError)
    scheduler.setTimesteps({ numInferenceSteps: 4, originalInferenceSteps: 4 })
    expect(scheduler.timesteps).toEqual([999, 749, 499, 249])
    expect(() => new TCDScheduler().step(testLatents(), 999, testLatents())).toThrow(SchedulerStateError)
  })
})
