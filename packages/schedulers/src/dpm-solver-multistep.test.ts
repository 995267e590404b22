import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { Tensor } from "@pagkit/tensor"
import { DPMSolverMultistepScheduler } from "./dpm-solver-multistep.js"
import { InvalidSchedulerConfigError, SchedulerArgumentError, SchedulerStateError } from "./errors.js"
import { SCHEDULER_ORACLES, oracleReport } from "./internal/oracle-report.js"

const ORACLES = fileURLToPath(SCHEDULER_ORACLES)

describe("DPMSolverMultistepScheduler oracles", () => {
  const cases = ["09", "10", "11", "12", "13", "28"].map((n) => `${n}-DPMSolverMultistepScheduler-10`)
  for (const name of cases) {
    it(`${name} matches diffusers`, async () => {
      const report = await oracleReport(ORACLES, name, (config) => new DPMSolverMultistepScheduler(config))
      expect(report.timesteps).toEqual(report.meta.timesteps)
      expect(report.sigmaError).toBe(0)
      expect(report.initNoiseSigma).toBe(report.meta.init_noise_sigma)
      expect(report.order).toBe(report.meta.order)
      expect(report.maxStepError).toBeLessThanOrEqual(1e-5)
      expect(report.addNoiseError).toBeLessThanOrEqual(1e-5)
    })
  }
})

describe("DPMSolverMultistepScheduler", () => {
  it("reproduces the SDE case with the real torch-compatible generator", async () => {
    const name = "11-DPMSolverMultistepScheduler-10"
    const report = await oracleReport(ORACLES, name, (config) => new DPMSolverMultistepScheduler(config), "generator")
    expect(report.maxStepError).toBeLessThanOrEqual(1e-5)
  })

  it("reads lambda_min_clipped written as a string", () => {
    const scheduler = new DPMSolverMultistepScheduler({ lambda_min_clipped: "-Infinity" })
    expect(scheduler.config.lambda_min_clipped).toBe(-Infinity)
  })

  it("clips the cosine schedule at lambda_min_clipped", () => {
    const scheduler = new DPMSolverMultistepScheduler({ beta_schedule: "squaredcos_cap_v2", lambda_min_clipped: -5.1 })
    scheduler.setTimesteps(10)
    expect(scheduler.timesteps).toEqual([995, 896, 796, 696, 597, 498, 398, 298, 199, 100])
  })

  it("spaces Lu lambdas uniformly in log sigma", () => {
    const scheduler = new DPMSolverMultistepScheduler({ use_lu_lambdas: true, beta_schedule: "scaled_linear" })
    scheduler.setTimesteps(8)
    const logs = (scheduler.sigmas ?? []).slice(0, 8).map(Math.log)
    for (let i = 2; i < logs.length; i++) expect(logs[i]! - 2 * logs[i - 1]! + logs[i - 2]!).toBeCloseTo(0, 5)
  })

  it("makes shifted flow-matching sigmas and dynamic shifting from mu", () => {
    const flow = { use_flow_sigmas: true, prediction_type: "flow_prediction" }
    const scheduler = new DPMSolverMultistepScheduler({ ...flow, flow_shift: 3 })
    scheduler.setTimesteps(4)
    expect(scheduler.timesteps).toEqual([999, 899, 749, 499])
    const dynamic = new DPMSolverMultistepScheduler({ ...flow, use_dynamic_shifting: true })
    dynamic.setTimesteps({ numInferenceSteps: 4, mu: Math.log(3) })
    expect(dynamic.sigmas).toEqual(scheduler.sigmas)
  })

  it("rescales to zero terminal SNR (first sigma 4096) with trailing spacing", () => {
    const scheduler = new DPMSolverMultistepScheduler({
      rescale_betas_zero_snr: true,
      timestep_spacing: "trailing",
      beta_schedule: "scaled_linear",
    })
    scheduler.setTimesteps(10)
    expect(scheduler.timesteps).toEqual([999, 899, 799, 699, 599, 499, 399, 299, 199, 99])
    expect(scheduler.sigmas?.[0]).toBeCloseTo(4096, 0)
  })

  it("thresholds the x0 prediction and converts v-prediction", () => {
    const sample = Tensor.fromArray([0.3, -0.2, 0.1, 0.4], [1, 1, 2, 2])
    const thresholded = new DPMSolverMultistepScheduler({ prediction_type: "sample", thresholding: true })
    thresholded.setTimesteps(1)
    const out = thresholded.step(Tensor.fromArray([5, -5, 0.5, 0.2], [1, 1, 2, 2]), 0, sample).prevSample
    expect(Array.from(out.data)).toEqual([1, -1, 0.5, 0.2].map(Math.fround))
    const v = new DPMSolverMultistepScheduler({ prediction_type: "v_prediction" })
    v.setTimesteps(1)
    const sigma = v.sigmas![0]!
    const alpha = 1 / Math.sqrt(sigma * sigma + 1)
    const x0 = v.step(Tensor.fromArray([1, 1, 1, 1], [1, 1, 2, 2]), 0, sample).prevSample
    expect(x0.data[0]).toBeCloseTo(alpha * 0.3 - sigma * alpha, 5)
  })

  it("makes decreasing timesteps for every spacing", () => {
    for (const timestep_spacing of ["linspace", "leading", "trailing"]) {
      const scheduler = new DPMSolverMultistepScheduler({ timestep_spacing, steps_offset: 1 })
      scheduler.setTimesteps(25)
      expect(scheduler.timesteps).toHaveLength(25)
      for (let i = 1; i < 25; i++) expect(scheduler.timesteps[i]!).toBeLessThan(scheduler.timesteps[i - 1]!)
      expect(scheduler.sigmas).toHaveLength(26)
    }
  })

  it("uses trailing timesteps like diffusers", () => {
    const scheduler = new DPMSolverMultistepScheduler({ timestep_spacing: "trailing" })
    scheduler.setTimesteps(4)
    expect(scheduler.timesteps).toEqual([999, 749, 499, 249])
  })

  it("warms up order 3 and lowers the order at the end", () => {
    // With a sample prediction of zero, a first-order ++ step scales the sample by sigma_t / sigma_s exactly.
    const scheduler = new DPMSolverMultistepScheduler({ solver_order: 3, prediction_type: "sample" })
    scheduler.setTimesteps(5)
    const zeros = Tensor.zeros([1, 1, 2, 2])
    let x = Tensor.fromArray([1, 2, 3, 4], [1, 1, 2, 2])
    for (const t of scheduler.timesteps) x = scheduler.step(zeros, t, x).prevSample
    expect(Array.from(x.data)).toEqual([0, 0, 0, 0])
  })

  it("rejects bad configs and calls out of order", () => {
    expect(() => new DPMSolverMultistepScheduler({ algorithm_type: "dpmsolver" })).toThrow(InvalidSchedulerConfigError)
    expect(() => new DPMSolverMultistepScheduler({ algorithm_type: "foo" })).toThrow(InvalidSchedulerConfigError)
    expect(() => new DPMSolverMultistepScheduler({ use_karras_sigmas: true, use_beta_sigmas: true })).toThrow(
      InvalidSchedulerConfigError,
    )
    const scheduler = new DPMSolverMultistepScheduler()
    const x = Tensor.zeros([1, 1, 2, 2])
    expect(() => scheduler.step(x, 999, x)).toThrow(SchedulerStateError)
  })

  it("names the scheduler when the model output does not fit the sample", () => {
    const scheduler = new DPMSolverMultistepScheduler()
    scheduler.setTimesteps(4)
    const x = Tensor.zeros([1, 4, 2, 2])
    const t = scheduler.timesteps[0]!
    expect(() => scheduler.step(Tensor.zeros([1, 4, 2, 3]), t, x)).toThrow(SchedulerArgumentError)
    expect(() => scheduler.step(Tensor.zeros([1, 4, 2, 3]), t, x)).toThrow(/DPMSolverMultistepScheduler\.step/)
  })

  it("learned variance: steps with model_output[:, :3] (all channels when there are fewer)", () => {
    const sample = Tensor.fromArray(Array.from({ length: 12 }, (_, i) => i / 6 - 1), [1, 3, 2, 2])
    const mean = Tensor.fromArray(Array.from({ length: 12 }, (_, i) => Math.sin(i)), [1, 3, 2, 2])
    const withVariance = Tensor.fromArray([...mean.data, ...Array.from({ length: 12 }, () => 7)], [1, 6, 2, 2])
    const run = (output: Tensor<"float32">, variance_type: string | null) => {
      const scheduler = new DPMSolverMultistepScheduler({ variance_type })
      scheduler.setTimesteps(4)
      return Array.from(scheduler.step(output, scheduler.timesteps[0]!, sample).prevSample.data)
    }
    expect(run(withVariance, "learned_range")).toEqual(run(mean, null))
    const twoChannels = Tensor.fromArray(Array.from(mean.data.subarray(0, 8)), [1, 2, 2, 2])
    const twoChannelSample = Tensor.fromArray(Array.from(sample.data.subarray(0, 8)), [1, 2, 2, 2])
    const scheduler = new DPMSolverMultistepScheduler({ variance_type: "learned" })
    scheduler.setTimesteps(4)
    const out = scheduler.step(twoChannels, scheduler.timesteps[0]!, twoChannelSample).prevSample
    expect(out.shape).toEqual([1, 2, 2, 2])
  })

  it("accepts diffusers' aliases (deis → dpmsolver++, bh2 → midpoint)", () => {
    const scheduler = new DPMSolverMultistepScheduler({ algorithm_type: "deis", solver_type: "bh2" })
    expect(scheduler.config.algorithm_type).toBe("dpmsolver++")
    expect(scheduler.config.solver_type).toBe("midpoint")
  })
})
