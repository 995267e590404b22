import { describe, expect, it } from "vitest"
import { allFinite, runLoop } from "./internal/test-support.js"
import { LMSDiscreteScheduler } from "./lms-discrete.js"

const sd = { beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012 }

describe("LMSDiscreteScheduler", () => {
  it("integrates the Lagrange basis like scipy.integrate.quad (1e-6)", () => {
    const scheduler = new LMSDiscreteScheduler(sd)
    scheduler.setTimesteps(10)
    // scipy.integrate.quad over the 10-step linspace sigmas
    const expected = [-0.6766715124764777, 0.35787157172509443, -0.10326082744245962, 0.009490574008089187]
    expected.forEach((value, k) => expect(Math.abs(scheduler.lmsCoefficient(4, 5, k) - value)).toBeLessThan(1e-6))
    expect(Math.abs(scheduler.lmsCoefficient(2, 1, 0) - -4.001029991649065)).toBeLessThan(1e-6)
    expect(Math.abs(scheduler.lmsCoefficient(2, 1, 1) - 0.7703209029570108)).toBeLessThan(1e-6)
  })

  it("ends at sigma 0 and runs Karras / exponential / beta sigmas", () => {
    for (const option of ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"]) {
      const scheduler = new LMSDiscreteScheduler({ ...sd, [option]: true })
      scheduler.setTimesteps(8)
      expect(scheduler.sigmas?.at(-1)).toBe(0)
      expect(scheduler.sigmas?.[0]).toBeCloseTo(14.6146, 3)
      expect(allFinite(runLoop(scheduler))).toBe(true)
    }
  })

  it("scales the first input by 1/√(σ²+1) and honours a lower step order", () => {
    const scheduler = new LMSDiscreteScheduler(sd)
    scheduler.setTimesteps(6)
    expect(scheduler.initNoiseSigma).toBeCloseTo(14.6146, 3)
    expect(allFinite(runLoop(scheduler))).toBe(true)
    expect(() => new LMSDiscreteScheduler({ use_karras_sigmas: true, use_beta_sigmas: true })).toThrow(/only one/)
  })
})
