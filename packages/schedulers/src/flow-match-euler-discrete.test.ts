import { describe, expect, it } from "vitest"
import { FlowMatchEulerDiscreteScheduler, calculateShift } from "./flow-match-euler-discrete.js"
import { allFinite, runLoop, strictlyDecreasing, testLatents } from "./internal/test-support.js"

describe("FlowMatchEulerDiscreteScheduler", () => {
  it("shifts sigmas towards 1 and ends at 0", () => {
    const plain = new FlowMatchEulerDiscreteScheduler()
    const shifted = new FlowMatchEulerDiscreteScheduler({ shift: 3 })
    plain.setTimesteps(8)
    shifted.setTimesteps(8)
    expect(shifted.sigmas?.[0]).toBe(1)
    expect(shifted.sigmas?.at(-1)).toBe(0)
    expect(shifted.sigmas![4]!).toBeGreaterThan(plain.sigmas![4]!)
    expect(strictlyDecreasing(shifted.timesteps)).toBe(true)
    expect(shifted.timesteps[0]).toBe(1000)
  })

  it("needs mu with dynamic shifting", () => {
    const scheduler = new FlowMatchEulerDiscreteScheduler({ use_dynamic_shifting: true })
    expect(() => scheduler.setTimesteps(8)).toThrow(/mu/)
    scheduler.setTimesteps({ numInferenceSteps: 8, mu: calculateShift(4096) })
    expect(calculateShift(4096)).toBeCloseTo(1.15, 12)
    expect(allFinite(runLoop(scheduler))).toBe(true)
  })

  it("scaleNoise interpolates between sample and noise", () => {
    const scheduler = new FlowMatchEulerDiscreteScheduler({ shift: 3 })
    scheduler.setTimesteps(4)
    const x0 = testLatents(1)
    const noise = testLatents(2)
    const t = scheduler.timesteps[1]!
    const sigma = scheduler.sigmas![1]!
    const noisy = scheduler.scaleNoise(x0, [t], noise)
    expect(noisy.data[3]).toBeCloseTo(sigma * noise.data[3]! + (1 - sigma) * x0.data[3]!, 5)
  })

  it("supports stochastic sampling, inverted sigmas and a terminal shift", () => {
    const stochastic = new FlowMatchEulerDiscreteScheduler({ stochastic_sampling: true })
    stochastic.setTimesteps(4)
    expect(allFinite(runLoop(stochastic))).toBe(true)
    const terminal = new FlowMatchEulerDiscreteScheduler({ shift: 3, shift_terminal: 0.1 })
    terminal.setTimesteps(5)
    expect(terminal.sigmas![4]).toBeCloseTo(0.1, 6)
    const inverted = new FlowMatchEulerDiscreteScheduler({ invert_sigmas: true })
    inverted.setTimesteps(3)
    expect(inverted.sigmas?.at(-1)).toBe(1)
  })
})
