import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { Tensor } from "@pagkit/tensor"
import { InvalidSchedulerConfigError, SchedulerArgumentError } from "./errors.js"
import { SCHEDULER_ORACLES, oracleReport } from "./internal/oracle-report.js"
import { solveLinear } from "./internal/dpm-unipc-bh.js"
import { UniPCMultistepScheduler } from "./unipc-multistep.js"

const ORACLES = fileURLToPath(SCHEDULER_ORACLES)

describe("UniPCMultistepScheduler oracles", () => {
  for (const name of ["15-UniPCMultistepScheduler-10", "16-UniPCMultistepScheduler-10"]) {
    it(`${name} matches diffusers`, async () => {
      const report = await oracleReport(ORACLES, name, (config) => new UniPCMultistepScheduler(config))
      expect(report.timesteps).toEqual(report.meta.timesteps)
      expect(report.sigmaError).toBe(0)
      expect(report.initNoiseSigma).toBe(report.meta.init_noise_sigma)
      expect(report.order).toBe(report.meta.order)
      expect(report.maxStepError).toBeLessThanOrEqual(1e-5)
      expect(report.addNoiseError).toBeLessThanOrEqual(1e-5)
    })
  }
})

describe("UniPCMultistepScheduler", () => {
  const sd = { beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012 }

  it("solves small linear systems", () => {
    expect(solveLinear([[2, 1], [1, 3]], [3, 5])).toEqual([Math.fround(0.8), Math.fround(1.4)])
  })

  it("disabling the corrector changes only the steps after the disabled ones", () => {
    const run = (disable_corrector: number[]): number[][] => {
      const scheduler = new UniPCMultistepScheduler({ ...sd, solver_order: 3, disable_corrector })
      scheduler.setTimesteps(6)
      let x = Tensor.fromArray([0.5, -1, 2, 0.1], [1, 1, 2, 2])
      const out: number[][] = []
      scheduler.timesteps.forEach((t, k) => {
        const eps = Tensor.fromArray(x.data.map((v, i) => 0.3 * v + 0.1 * Math.sin(i + k)), x.shape)
        x = scheduler.step(eps, t, x).prevSample
        out.push(Array.from(x.data))
      })
      return out
    }
    const full = run([])
    const partial = run([2])
    expect(partial.slice(0, 3)).toEqual(full.slice(0, 3))
    expect(partial[3]).not.toEqual(full[3])
    expect(full.flat().every(Number.isFinite)).toBe(true)
  })

  it("supports noise prediction (predict_x0 false) and bh1 with order 3", () => {
    // (Into a zero final sigma both give NaN in diffusers, as case 16 records for bh1; end at sigma_min here.)
    for (const predict_x0 of [true, false]) {
      const scheduler = new UniPCMultistepScheduler({
        ...sd,
        solver_order: 3,
        solver_type: "bh1",
        predict_x0,
        final_sigmas_type: "sigma_min",
      })
      scheduler.setTimesteps(8)
      let x = Tensor.fromArray([0.5, -1, 2, 0.1], [1, 1, 2, 2])
      for (const t of scheduler.timesteps) x = scheduler.step(Tensor.fromArray([0.1, 0.2, -0.3, 0.4], [1, 1, 2, 2]), t, x).prevSample
      expect(Array.from(x.data).every(Number.isFinite)).toBe(true)
    }
  })

  it("makes flow-matching timesteps with a shift", () => {
    const scheduler = new UniPCMultistepScheduler({ use_flow_sigmas: true, flow_shift: 3, prediction_type: "flow_prediction" })
    scheduler.setTimesteps(4)
    expect(scheduler.timesteps).toEqual([999, 900, 750, 500])
    expect(scheduler.sigmas?.[4]).toBe(0)
  })

  it("rejects bad options", () => {
    expect(() => new UniPCMultistepScheduler({ solver_type: "foo" })).toThrow(InvalidSchedulerConfigError)
    expect(() => new UniPCMultistepScheduler({ shift_terminal: 0.1 })).toThrow(InvalidSchedulerConfigError)
    const dynamic = new UniPCMultistepScheduler({ use_flow_sigmas: true, use_dynamic_shifting: true })
    expect(() => dynamic.setTimesteps(4)).toThrow(SchedulerArgumentError)
  })
})
