import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { Tensor, TorchGenerator } from "@pagkit/tensor"
import { InvalidSchedulerConfigError } from "./errors.js"
import { SCHEDULER_ORACLES, oracleReport } from "./internal/oracle-report.js"
import { lagrangeCoefficients } from "./internal/dpm-sa-coefficients.js"
import { SASolverScheduler } from "./sa-solver.js"

const ORACLES = fileURLToPath(SCHEDULER_ORACLES)

/** A stand-in generator that returns fixed draws (until the real TorchGenerator is bit-exact). */
function fixedGenerator(value: number): TorchGenerator {
  return { randn: (shape: readonly number[]) => new Tensor("float32", new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value), shape) } as unknown as TorchGenerator
}

describe("SASolverScheduler oracles", () => {
  it("26-SASolverScheduler-10 matches diffusers (recorded noise draws)", async () => {
    const report = await oracleReport(ORACLES, "26-SASolverScheduler-10", (config) => new SASolverScheduler(config))
    expect(report.timesteps).toEqual(report.meta.timesteps)
    expect(report.sigmaError).toBe(0)
    expect(report.initNoiseSigma).toBe(report.meta.init_noise_sigma)
    expect(report.order).toBe(report.meta.order)
    expect(report.maxStepError).toBeLessThanOrEqual(1e-5)
    expect(report.addNoiseError).toBeLessThanOrEqual(1e-5)
  })
})

describe("SASolverScheduler", () => {
  it("reproduces case 26 with the real torch-compatible generator", async () => {
    const report = await oracleReport(ORACLES, "26-SASolverScheduler-10", (config) => new SASolverScheduler(config), "generator")
    expect(report.maxStepError).toBeLessThanOrEqual(1e-5)
  })

  it("builds Lagrange basis polynomials that interpolate", () => {
    const points = [0.5, -1, 2, 3]
    for (let n = 1; n <= 4; n++) {
      const basis = lagrangeCoefficients(points.slice(0, n))
      basis.forEach((coefficients, i) => {
        points.slice(0, n).forEach((x, j) => {
          const value = coefficients.reduce((acc, c) => acc * x + c, 0)
          expect(value).toBeCloseTo(i === j ? 1 : 0, 5)
        })
      })
    }
  })

  it("is deterministic for tau 0 and uses the generator otherwise", () => {
    const run = (tau_func: ((t: number) => number) | null, value: number): number[] => {
      const scheduler = new SASolverScheduler({ tau_func, predictor_order: 3, corrector_order: 4 })
      scheduler.setTimesteps(8)
      let x = Tensor.fromArray([0.5, -1, 2, 0.1], [1, 1, 2, 2])
      for (const t of scheduler.timesteps) {
        const eps = Tensor.fromArray(x.data.map((v) => 0.3 * v + 0.05), x.shape)
        x = scheduler.step(eps, t, x, { generator: fixedGenerator(value) }).prevSample
      }
      return Array.from(x.data)
    }
    expect(run(() => 0, 1)).toEqual(run(() => 0, -1))
    expect(run(null, 1)).not.toEqual(run(null, -1))
    expect(run(null, 1).every(Number.isFinite)).toBe(true)
  })

  it("supports noise prediction", () => {
    const scheduler = new SASolverScheduler({ algorithm_type: "noise_prediction", use_karras_sigmas: true })
    scheduler.setTimesteps(6)
    let x = Tensor.fromArray([0.5, -1, 2, 0.1], [1, 1, 2, 2])
    for (const t of scheduler.timesteps) {
      x = scheduler.step(Tensor.fromArray([0.1, 0.2, -0.3, 0.4], [1, 1, 2, 2]), t, x, { generator: fixedGenerator(0.5) }).prevSample
    }
    expect(Array.from(x.data).every(Number.isFinite)).toBe(true)
  })

  it("rejects unknown algorithms and orders", () => {
    expect(() => new SASolverScheduler({ algorithm_type: "dpmsolver++" })).toThrow(InvalidSchedulerConfigError)
    expect(() => new SASolverScheduler({ predictor_order: 5 })).toThrow(InvalidSchedulerConfigError)
  })
})
