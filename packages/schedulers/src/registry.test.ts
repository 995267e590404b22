import { describe, expect, it } from "vitest"
import { DDIMScheduler } from "./ddim.js"
import { EulerDiscreteScheduler } from "./euler-discrete.js"
import { InvalidSchedulerConfigError, SchedulerError, SchedulerStateError, UnknownSchedulerError } from "./errors.js"
import { allFinite, runLoop, testLatents } from "./internal/test-support.js"
import { coreSchedulers, createScheduler, defaultSchedulers, schedulerFromConfig } from "./registry.js"
import type { SchedulerRegistry } from "./registry.js"

const sdxlConfig = {
  _class_name: "EulerDiscreteScheduler",
  _diffusers_version: "0.19.0.dev0",
  beta_end: 0.012,
  beta_schedule: "scaled_linear",
  beta_start: 0.00085,
  clip_sample: false,
  interpolation_type: "linear",
  num_train_timesteps: 1000,
  prediction_type: "epsilon",
  sample_max_value: 1.0,
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  timestep_spacing: "leading",
  trained_betas: null,
  use_karras_sigmas: false,
}

describe("createScheduler", () => {
  it("builds the class a real SDXL scheduler_config.json names", () => {
    const scheduler = createScheduler(sdxlConfig)
    expect(scheduler).toBeInstanceOf(EulerDiscreteScheduler)
    scheduler.setTimesteps(10)
    expect(scheduler.timesteps[0]).toBe(901)
  })

  it("ships every part-A class", () => {
    for (const name of Object.keys(coreSchedulers)) {
      const scheduler = createScheduler({ _class_name: name })
      expect(scheduler.className).toBe(name)
      expect(defaultSchedulers[name]).toBeDefined()
    }
  })

  it("lists the supported classes for an unknown one", () => {
    const attempt = (): unknown => createScheduler({ _class_name: "FancyScheduler" })
    expect(attempt).toThrow(UnknownSchedulerError)
    expect(attempt).toThrow(/FancyScheduler.*DDIMScheduler.*EulerDiscreteScheduler/)
    expect(() => createScheduler({ beta_start: 0.1 })).toThrow(InvalidSchedulerConfigError)
    expect(() => createScheduler({ _class_name: "toString" })).toThrow(UnknownSchedulerError)
  })

  it("uses an extended registry passed in, without global state", () => {
    const registry: SchedulerRegistry = {
      ...defaultSchedulers,
      MyDDIM: (config) => new DDIMScheduler({ ...config, clip_sample: false }),
    }
    expect(createScheduler({ _class_name: "MyDDIM" }, { registry })).toBeInstanceOf(DDIMScheduler)
    expect(() => createScheduler({ _class_name: "MyDDIM" })).toThrow(SchedulerError)
  })
})

describe("schedulerFromConfig", () => {
  it("swaps class and keeps the shared options, like from_config", () => {
    const euler = createScheduler(sdxlConfig)
    const ddim = schedulerFromConfig(euler, { _class_name: "DDIMScheduler" })
    expect(ddim).toBeInstanceOf(DDIMScheduler)
    expect(ddim.config["beta_schedule"]).toBe("scaled_linear")
    expect(ddim.config["steps_offset"]).toBe(1)
    const karras = schedulerFromConfig(sdxlConfig, { use_karras_sigmas: true })
    expect(karras.config["use_karras_sigmas"]).toBe(true)
  })

  it("lets options the source left at its defaults take the new class's defaults", () => {
    // PNDM defaults to "leading" spacing; Euler's default is "linspace"
    const pndm = createScheduler({ _class_name: "PNDMScheduler", beta_schedule: "scaled_linear" })
    const euler = schedulerFromConfig(pndm, { _class_name: "EulerDiscreteScheduler" })
    expect(euler.config["timestep_spacing"]).toBe("linspace")
    expect(euler.config["beta_schedule"]).toBe("scaled_linear")
    const explicit = createScheduler({ _class_name: "PNDMScheduler", timestep_spacing: "trailing" })
    expect(schedulerFromConfig(explicit, { _class_name: "EulerDiscreteScheduler" }).config["timestep_spacing"]).toBe(
      "trailing",
    )
    expect(schedulerFromConfig(euler, { use_karras_sigmas: true }).config["use_karras_sigmas"]).toBe(true)
  })
})

describe("a finished run stepped again", () => {
  // These index by step, not by timestep value: one step past the end used to read a missing next sigma and
  // return NaN latents without an error (diffusers raises IndexError there).
  const stepIndexed = [
    "EulerDiscreteScheduler",
    "EulerAncestralDiscreteScheduler",
    "EDMEulerScheduler",
    "FlowMatchEulerDiscreteScheduler",
    "HeunDiscreteScheduler",
    "LMSDiscreteScheduler",
    "KDPM2DiscreteScheduler",
    "KDPM2AncestralDiscreteScheduler",
    "LCMScheduler",
    "TCDScheduler",
  ]
  for (const className of stepIndexed) {
    it(`${className} throws SchedulerStateError until setTimesteps runs again`, () => {
      const scheduler = createScheduler({ _class_name: className })
      scheduler.setTimesteps(4)
      const latents = runLoop(scheduler)
      expect(allFinite(latents)).toBe(true)
      const last = scheduler.timesteps[scheduler.timesteps.length - 1]!
      expect(() => scheduler.step(testLatents(2), last, latents)).toThrow(SchedulerStateError)
      expect(() => scheduler.step(testLatents(2), last, latents)).toThrow(/Call setTimesteps before each run/)
      scheduler.setTimesteps(4)
      expect(allFinite(runLoop(scheduler))).toBe(true)
    })
  }

  it("a begin index at or past the end is refused at the first step", () => {
    const scheduler = createScheduler({ _class_name: "EulerDiscreteScheduler" })
    scheduler.setTimesteps(4)
    scheduler.setBeginIndex(4)
    expect(() => scheduler.scaleModelInput(testLatents(), scheduler.timesteps[3]!)).toThrow(SchedulerStateError)
  })
})
