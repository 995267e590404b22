import { describe, expect, it } from "vitest"
import { checkOneOf, checkSingleSigmaConversion, resolveConfig } from "./config.js"
import { InvalidSchedulerConfigError } from "../errors.js"

const defaults = {
  num_train_timesteps: 1000,
  beta_schedule: "linear",
  sigma_min: null as number | null,
  clip_sample: true,
}

describe("resolveConfig", () => {
  it("fills defaults and ignores unknown and bookkeeping keys", () => {
    const resolved = resolveConfig("X", defaults, {
      _class_name: "X",
      _diffusers_version: "0.30.0",
      _use_default_values: ["clip_sample"],
      beta_schedule: "scaled_linear",
      skip_prk_steps: true,
    })
    expect(resolved).toEqual({
      num_train_timesteps: 1000,
      beta_schedule: "scaled_linear",
      sigma_min: null,
      clip_sample: true,
      _use_default_values: ["num_train_timesteps", "sigma_min", "clip_sample"],
    })
  })

  it("drops the keys a config lists in _use_default_values, like diffusers' from_config", () => {
    const resolved = resolveConfig("X", defaults, {
      beta_schedule: "squaredcos_cap_v2",
      clip_sample: false,
      _use_default_values: ["clip_sample"],
    })
    expect(resolved.clip_sample).toBe(true)
    expect(resolved.beta_schedule).toBe("squaredcos_cap_v2")
  })

  it("accepts null and any value where the default is null", () => {
    expect(resolveConfig("X", defaults, { sigma_min: 0.1, clip_sample: null }).sigma_min).toBe(0.1)
  })

  it("rejects values of the wrong type or non-integers, naming the option", () => {
    expect(() => resolveConfig("X", defaults, { clip_sample: "yes" })).toThrow(
      /X: option clip_sample should be a boolean/,
    )
    expect(() => resolveConfig("X", defaults, { num_train_timesteps: 10.5 })).toThrow(InvalidSchedulerConfigError)
    expect(() => resolveConfig("X", defaults, { num_train_timesteps: 0 })).toThrow(/at least 1/)
  })

  it("checks enumerations and exclusive sigma options", () => {
    expect(() => checkOneOf("X", "prediction_type", "eps", ["epsilon", "v_prediction"])).toThrow(
      /"epsilon", "v_prediction"/,
    )
    expect(() => checkSingleSigmaConversion("X", { use_karras_sigmas: true, use_beta_sigmas: true })).toThrow(
      /only one/,
    )
    expect(() => checkSingleSigmaConversion("X", { use_karras_sigmas: true })).not.toThrow()
  })
})
