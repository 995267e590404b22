import { describe, expect, it } from "vitest"
import { TorchGenerator } from "@pagkit/tensor"
import { SchedulerArgumentError } from "./errors.js"
import { EulerDiscreteScheduler } from "./euler-discrete.js"
import { allFinite, runLoop, strictlyDecreasing, testLatents } from "./internal/test-support.js"

const sdxl = {
  beta_schedule: "scaled_linear",
  beta_start: 0.00085,
  beta_end: 0.012,
  steps_offset: 1,
  timestep_spacing: "leading",
}

describe("EulerDiscreteScheduler", () => {
  it("keeps fractional linspace timesteps (not rounded) and appends sigma 0", () => {
    const scheduler = new EulerDiscreteScheduler({ ...sdxl, timestep_spacing: "linspace" })
    scheduler.setTimesteps(7)
    expect(scheduler.timesteps).toEqual([999, 832.5, 666, 499.5, 333, 166.5, 0])
    expect(scheduler.sigmas?.length).toBe(8)
    expect(scheduler.sigmas?.at(-1)).toBe(0)
    expect(scheduler.initNoiseSigma).toBe(scheduler.sigmas?.[0])
  })

  it("uses √(σ_max² + 1) as init sigma for leading spacing", () => {
    const scheduler = new EulerDiscreteScheduler(sdxl)
    scheduler.setTimesteps(10)
    expect(scheduler.initNoiseSigma).toBeCloseTo(Math.sqrt(scheduler.sigmas![0]! ** 2 + 1), 5)
  })

  it("Karras, exponential and beta sigmas give decreasing timesteps within the train range", () => {
    for (const option of ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"]) {
      const scheduler = new EulerDiscreteScheduler({ ...sdxl, [option]: true })
      scheduler.setTimesteps(12)
      expect(strictlyDecreasing(scheduler.timesteps)).toBe(true)
      expect(scheduler.timesteps.every((t) => t >= 0 && t <= 999)).toBe(true)
      expect(allFinite(runLoop(scheduler))).toBe(true)
    }
  })

  it("supports final sigma_min, log_linear interpolation, continuous v timesteps and zero SNR", () => {
    const minimal = new EulerDiscreteScheduler({ ...sdxl, final_sigmas_type: "sigma_min" })
    minimal.setTimesteps(5)
    expect(minimal.sigmas?.at(-1)).toBeCloseTo(0.029167, 5)
    const continuous = new EulerDiscreteScheduler({
      ...sdxl,
      timestep_type: "continuous",
      prediction_type: "v_prediction",
    })
    continuous.setTimesteps(5)
    expect(continuous.timesteps[0]).toBeCloseTo(0.25 * Math.log(continuous.sigmas![0]!), 5)
    const zeroSnr = new EulerDiscreteScheduler({
      ...sdxl,
      rescale_betas_zero_snr: true,
      timestep_spacing: "trailing",
      prediction_type: "v_prediction",
    })
    zeroSnr.setTimesteps(5)
    expect(zeroSnr.sigmas![0]).toBeCloseTo(4096, 0) // ᾱ pinned to 2^-24
    expect(allFinite(runLoop(zeroSnr))).toBe(true)
    const logLinear = new EulerDiscreteScheduler({ ...sdxl, interpolation_type: "log_linear" })
    logLinear.setTimesteps(5)
    expect(logLinear.sigmas?.length).toBe(7)
  })

  it("accepts custom sigmas and timesteps", () => {
    const scheduler = new EulerDiscreteScheduler(sdxl)
    scheduler.setTimesteps({ sigmas: [10, 5, 1, 0] })
    expect(scheduler.timesteps.length).toBe(3)
    expect(strictlyDecreasing(scheduler.timesteps)).toBe(true)
    scheduler.setTimesteps({ timesteps: [900, 500, 100] })
    expect(scheduler.sigmas?.length).toBe(4)
    const karras = new EulerDiscreteScheduler({ ...sdxl, use_karras_sigmas: true })
    expect(() => karras.setTimesteps({ timesteps: [900, 100] })).toThrow(SchedulerArgumentError)
    expect(() => scheduler.setTimesteps({})).toThrow(/exactly one/)
  })

  it("adds churn noise only when s_churn > 0", () => {
    const scheduler = new EulerDiscreteScheduler(sdxl)
    scheduler.setTimesteps(4)
    const x = testLatents(1)
    const t = scheduler.timesteps[0]!
    const plain = scheduler.step(testLatents(2), t, x).prevSample
    scheduler.setTimesteps(4)
    const unseeded = scheduler.step(testLatents(2), t, x, { sChurn: 1 }).prevSample // global-RNG stand-in
    expect(unseeded.data).not.toEqual(plain.data)
    scheduler.setTimesteps(4)
    expect(
      allFinite(scheduler.step(testLatents(2), t, x, { sChurn: 1, generator: new TorchGenerator(0) }).prevSample),
    ).toBe(true)
  })

  it("indexes add_noise by timestep, then by begin index", () => {
    const scheduler = new EulerDiscreteScheduler(sdxl)
    scheduler.setTimesteps(10)
    const x0 = testLatents(1)
    const noise = testLatents(2)
    const byValue = scheduler.addNoise(x0, noise, [scheduler.timesteps[3]!])
    expect(byValue.data[0]).toBeCloseTo(x0.data[0]! + scheduler.sigmas![3]! * noise.data[0]!, 5)
    scheduler.setBeginIndex(6)
    const byIndex = scheduler.addNoise(x0, noise, [scheduler.timesteps[3]!])
    expect(byIndex.data[0]).toBeCloseTo(x0.data[0]! + scheduler.sigmas![6]! * noise.data[0]!, 5)
    expect(() => new EulerDiscreteScheduler().addNoise(x0, noise, [12.5])).toThrow(
      /not one of the scheduler's timesteps/,
    )
  })
})
