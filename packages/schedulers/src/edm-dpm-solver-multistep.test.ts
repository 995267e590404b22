import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { Tensor } from "@pagkit/tensor"
import { EDMDPMSolverMultistepScheduler } from "./edm-dpm-solver-multistep.js"
import { InvalidSchedulerConfigError } from "./errors.js"
import { SCHEDULER_ORACLES, oracleReport } from "./internal/oracle-report.js"

const ORACLES = fileURLToPath(SCHEDULER_ORACLES)

describe("EDMDPMSolverMultistepScheduler oracles", () => {
  it("25-EDMDPMSolverMultistepScheduler-10 matches diffusers", async () => {
    const report = await oracleReport(ORACLES, "25-EDMDPMSolverMultistepScheduler-10", (c) => new EDMDPMSolverMultistepScheduler(c))
    expect(report.timesteps).toEqual(report.meta.timesteps)
    expect(report.sigmaError).toBe(0)
    expect(report.initNoiseSigma).toBe(report.meta.init_noise_sigma)
    expect(report.order).toBe(report.meta.order)
    expect(report.maxStepError).toBeLessThanOrEqual(1e-5)
    expect(report.addNoiseError).toBeLessThanOrEqual(1e-5)
  })
})

describe("EDMDPMSolverMultistepScheduler", () => {
  it("spans sigma_max to sigma_min with exponential sigmas too", () => {
    const scheduler = new EDMDPMSolverMultistepScheduler({ sigma_schedule: "exponential", final_sigmas_type: "sigma_min" })
    scheduler.setTimesteps(6)
    const sigmas = scheduler.sigmas ?? []
    expect(sigmas[0]).toBeCloseTo(80, 3)
    expect(sigmas[5]).toBeCloseTo(0.002, 6)
    expect(sigmas[6]).toBe(Math.fround(0.002))
    expect(scheduler.timesteps[0]).toBeCloseTo(0.25 * Math.log(80), 5)
  })

  it("scales inputs by 1/sqrt(sigma² + sigma_data²)", () => {
    const scheduler = new EDMDPMSolverMultistepScheduler()
    scheduler.setTimesteps(4)
    const t = scheduler.timesteps[0]!
    const scaled = scheduler.scaleModelInput(Tensor.fromArray([1, 2]), t)
    const sigma = scheduler.sigmas![0]!
    expect(scaled.data[0]).toBeCloseTo(1 / Math.sqrt(sigma * sigma + 0.25), 6)
  })

  it("runs order 3 and rejects unsupported prediction types", () => {
    const scheduler = new EDMDPMSolverMultistepScheduler({ solver_order: 3, solver_type: "heun" })
    scheduler.setTimesteps(8)
    let x = Tensor.fromArray([50, -80, 20, 10], [1, 1, 2, 2])
    for (const t of scheduler.timesteps) {
      const input = scheduler.scaleModelInput(x, t)
      x = scheduler.step(Tensor.fromArray(input.data.map((v) => 0.5 * v), x.shape), t, x).prevSample
    }
    expect(Array.from(x.data).every(Number.isFinite)).toBe(true)
    expect(() => new EDMDPMSolverMultistepScheduler({ prediction_type: "sample" })).toThrow(InvalidSchedulerConfigError)
  })
})
