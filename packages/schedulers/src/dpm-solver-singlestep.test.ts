import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { Tensor } from "@pagkit/tensor"
import { DPMSolverSinglestepScheduler, singlestepOrderList } from "./dpm-solver-singlestep.js"
import { InvalidSchedulerConfigError } from "./errors.js"
import { SCHEDULER_ORACLES, oracleReport } from "./internal/oracle-report.js"

const ORACLES = fileURLToPath(SCHEDULER_ORACLES)

describe("DPMSolverSinglestepScheduler oracles", () => {
  const cases = ["14"].map((n) => `${n}-DPMSolverSinglestepScheduler-10`)
  for (const name of cases) {
    it(`${name} matches diffusers`, async () => {
      const report = await oracleReport(ORACLES, name, (config) => new DPMSolverSinglestepScheduler(config))
      expect(report.timesteps).toEqual(report.meta.timesteps)
      expect(report.sigmaError).toBe(0)
      expect(report.initNoiseSigma).toBe(report.meta.init_noise_sigma)
      expect(report.order).toBe(report.meta.order)
      expect(report.maxStepError).toBeLessThanOrEqual(1e-5)
      expect(report.addNoiseError).toBeLessThanOrEqual(1e-5)
    })
  }
})

describe("DPMSolverSinglestepScheduler", () => {
  it("builds diffusers' order lists", () => {
    const list = (steps: number, order: number, lowerOrderFinal: boolean, finalSigmasZero: boolean): number[] =>
      singlestepOrderList(steps, order, { lowerOrderFinal, finalSigmasZero })
    expect(list(7, 3, true, false)).toEqual([1, 2, 3, 1, 2, 3, 1])
    expect(list(9, 3, true, true)).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 1])
    expect(list(8, 3, true, false)).toEqual([1, 2, 3, 1, 2, 3, 1, 2])
    expect(list(6, 2, true, false)).toEqual([1, 2, 1, 2, 1, 1])
    expect(list(7, 2, true, true)).toEqual([1, 2, 1, 2, 1, 2, 1])
    expect(list(6, 3, false, false)).toEqual([1, 2, 3, 1, 2, 3])
  })

  it("runs orders 1-3 with heun and sigma_min end to a finite sample", () => {
    for (const solver_type of ["midpoint", "heun"]) {
      const scheduler = new DPMSolverSinglestepScheduler({
        solver_order: 3,
        solver_type,
        final_sigmas_type: "sigma_min",
        beta_schedule: "scaled_linear",
        beta_start: 0.00085,
        beta_end: 0.012,
      })
      scheduler.setTimesteps(9)
      expect(scheduler.timesteps).toHaveLength(9)
      let x = Tensor.fromArray([0.5, -1, 2, 0.1], [1, 1, 2, 2])
      for (const t of scheduler.timesteps) x = scheduler.step(Tensor.fromArray([0.1, 0.2, -0.3, 0.4], [1, 1, 2, 2]), t, x).prevSample
      expect(Array.from(x.data).every(Number.isFinite)).toBe(true)
    }
  })

  it("rejects dpmsolver with a zero final sigma and unknown algorithms", () => {
    expect(() => new DPMSolverSinglestepScheduler({ algorithm_type: "dpmsolver" })).toThrow(InvalidSchedulerConfigError)
    expect(() => new DPMSolverSinglestepScheduler({ algorithm_type: "sde-dpmsolver" })).toThrow(InvalidSchedulerConfigError)
  })
})
