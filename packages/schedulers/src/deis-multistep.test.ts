import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { Tensor } from "@pagkit/tensor"
import { DEISMultistepScheduler } from "./deis-multistep.js"
import { InvalidSchedulerConfigError } from "./errors.js"
import { SCHEDULER_ORACLES, oracleReport } from "./internal/oracle-report.js"

const ORACLES = fileURLToPath(SCHEDULER_ORACLES)

describe("DEISMultistepScheduler oracles", () => {
  it("20-DEISMultistepScheduler-10 matches diffusers", async () => {
    const report = await oracleReport(ORACLES, "20-DEISMultistepScheduler-10", (config) => new DEISMultistepScheduler(config))
    expect(report.timesteps).toEqual(report.meta.timesteps)
    expect(report.sigmaError).toBe(0)
    expect(report.initNoiseSigma).toBe(report.meta.init_noise_sigma)
    expect(report.order).toBe(report.meta.order)
    expect(report.maxStepError).toBeLessThanOrEqual(1e-5)
    expect(report.addNoiseError).toBeLessThanOrEqual(1e-5)
  })
})

describe("DEISMultistepScheduler", () => {
  it("repeats the last Karras sigma instead of appending zero", () => {
    const scheduler = new DEISMultistepScheduler({ use_karras_sigmas: true })
    scheduler.setTimesteps(5)
    const sigmas = scheduler.sigmas ?? []
    expect(sigmas).toHaveLength(6)
    expect(sigmas[5]).toBe(sigmas[4])
    for (let i = 1; i < 5; i++) expect(scheduler.timesteps[i]!).toBeLessThan(scheduler.timesteps[i - 1]!)
  })

  it("accepts diffusers' aliases and rejects unknown algorithms", () => {
    expect(new DEISMultistepScheduler({ algorithm_type: "dpmsolver++", solver_type: "midpoint" }).config.algorithm_type).toBe("deis")
    expect(() => new DEISMultistepScheduler({ algorithm_type: "unipc" })).toThrow(InvalidSchedulerConfigError)
  })

  it("runs order 3 to a finite sample", () => {
    const scheduler = new DEISMultistepScheduler({ solver_order: 3 })
    scheduler.setTimesteps(20)
    let x = Tensor.fromArray([0.5, -1, 2, 0.1], [1, 1, 2, 2])
    for (const t of scheduler.timesteps) x = scheduler.step(Tensor.fromArray([0.1, 0.2, -0.3, 0.4], [1, 1, 2, 2]), t, x).prevSample
    expect(Array.from(x.data).every(Number.isFinite)).toBe(true)
  })
})
