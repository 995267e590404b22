import { describe, expect, it } from "vitest"
import {
  alphasCumprod,
  betasFor,
  betasForAlphaBar,
  rescaleZeroTerminalSnr,
  sigmasFromAlphasCumprod,
  torchLinspaceF32,
} from "./betas.js"
import { InvalidSchedulerConfigError } from "../errors.js"

const sdxl = { num_train_timesteps: 1000, beta_start: 0.00085, beta_end: 0.012, beta_schedule: "scaled_linear" }

describe("betas", () => {
  it("reproduces diffusers' scaled_linear sigma table bit for bit", () => {
    const sigmas = sigmasFromAlphasCumprod(alphasCumprod(betasFor(sdxl)))
    // values from the DDIM / Euler oracles (float32 torch)
    expect(sigmas[999]).toBe(14.614646911621094)
    expect(sigmas[901]).toBe(8.390686988830566)
    expect(sigmas[1]).toBe(0.04131447896361351)
    expect(sigmas[0]).toBe(0.029167532920837402)
  })

  it("fills torch.linspace's second half backwards from the end", () => {
    const values = torchLinspaceF32(0.1, 0.7, 7)
    expect(values[0]).toBe(Math.fround(0.1))
    expect(values[6]).toBe(Math.fround(0.7))
    for (let i = 1; i < 7; i++) expect(values[i]!).toBeGreaterThan(values[i - 1]!)
    expect(torchLinspaceF32(2, 3, 1)).toEqual(Float32Array.of(2))
  })

  it("rounds end - step·k once, like torch (linspace(0, 1, 10)[6] is 0.6666667, not 0.6666666)", () => {
    const ramp = torchLinspaceF32(0, 1, 10)
    expect(ramp[6]).toBe(Math.fround(2 / 3))
    expect(ramp[0]).toBe(0)
    expect(ramp[9]).toBe(1)
    const values = torchLinspaceF32(0.0001, 0.02, 1000)
    expect(values[0]).toBe(Math.fround(0.0001))
    expect(values[999]).toBe(Math.fround(0.02))
    for (let i = 1; i < values.length; i++) expect(values[i]!).toBeGreaterThan(values[i - 1]!)
  })

  it("matches betas_for_alpha_bar (squaredcos_cap_v2)", () => {
    const betas = betasFor({ ...sdxl, beta_schedule: "squaredcos_cap_v2" })
    const expected = [
      4.128422369831242e-5, 4.614175122696906e-5, 0.003155691549181938, 0.7499994039535522, 0.9990000128746033,
    ]
    ;[0, 1, 500, 998, 999].forEach((i, j) => expect(betas[i]).toBe(expected[j]))
    expect(betasForAlphaBar(10, 0.999, "exp").every((b) => b > 0 && b < 1)).toBe(true)
  })

  it("uses trained_betas as given and checks their count", () => {
    expect(Array.from(betasFor({ ...sdxl, num_train_timesteps: 3, trained_betas: [0.1, 0.2, 0.3] }))).toEqual(
      [0.1, 0.2, 0.3].map(Math.fround),
    )
    expect(() => betasFor({ ...sdxl, trained_betas: [0.1] })).toThrow(InvalidSchedulerConfigError)
  })

  it("rejects unknown schedules with the list of supported ones", () => {
    expect(() => betasFor({ ...sdxl, beta_schedule: "quadratic" }, "DDIMScheduler")).toThrow(
      /DDIMScheduler.*quadratic.*scaled_linear/,
    )
    expect(() => betasFor({ ...sdxl, beta_schedule: "exp" }, "DDIMScheduler")).toThrow(InvalidSchedulerConfigError)
    expect(betasFor({ ...sdxl, beta_schedule: "exp" }, "HeunDiscreteScheduler", true).length).toBe(1000)
  })

  it("rescales to zero terminal SNR: last alpha_cumprod is 0, first unchanged", () => {
    const betas = betasFor(sdxl)
    const rescaled = alphasCumprod(rescaleZeroTerminalSnr(betas))
    expect(rescaled[999]).toBe(0)
    expect(rescaled[0]).toBeCloseTo(alphasCumprod(betas)[0]!, 7)
    for (let i = 1; i < 1000; i++) expect(rescaled[i]!).toBeLessThanOrEqual(rescaled[i - 1]!)
  })
})
