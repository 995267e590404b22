// Scheduler lookup by diffusers class name. No global state: callers pass an extended registry to add classes.
import { DDIMScheduler } from "./ddim.js"
import { DDPMScheduler } from "./ddpm.js"
import { EDMEulerScheduler } from "./edm-euler.js"
import { EulerAncestralDiscreteScheduler } from "./euler-ancestral-discrete.js"
import { EulerDiscreteScheduler } from "./euler-discrete.js"
import { FlowMatchEulerDiscreteScheduler } from "./flow-match-euler-discrete.js"
import { HeunDiscreteScheduler } from "./heun-discrete.js"
import { LCMScheduler } from "./lcm.js"
import { LMSDiscreteScheduler } from "./lms-discrete.js"
import { PNDMScheduler } from "./pndm.js"
import { TCDScheduler } from "./tcd.js"
import { KDPM2AncestralDiscreteScheduler, KDPM2DiscreteScheduler } from "./kdpm2-discrete.js"
import { UnknownSchedulerError, InvalidSchedulerConfigError } from "./errors.js"
import { dpmFamilySchedulers } from "./registry-dpm.js"
import type { Scheduler, SchedulerConfig, SchedulerFactory } from "./scheduler.js"

/** Class name → factory. Extend it by spreading: `{ ...defaultSchedulers, MyScheduler: factory }`. */
export type SchedulerRegistry = Readonly<Record<string, SchedulerFactory>>

/** The schedulers part A ships (DDPM family, Euler family, LMS, PNDM, LCM, TCD, flow matching, EDM Euler). */
export const coreSchedulers: SchedulerRegistry = {
  DDIMScheduler: (config) => new DDIMScheduler(config),
  DDPMScheduler: (config) => new DDPMScheduler(config),
  EulerDiscreteScheduler: (config) => new EulerDiscreteScheduler(config),
  EulerAncestralDiscreteScheduler: (config) => new EulerAncestralDiscreteScheduler(config),
  EDMEulerScheduler: (config) => new EDMEulerScheduler(config),
  FlowMatchEulerDiscreteScheduler: (config) => new FlowMatchEulerDiscreteScheduler(config),
  HeunDiscreteScheduler: (config) => new HeunDiscreteScheduler(config),
  LCMScheduler: (config) => new LCMScheduler(config),
  TCDScheduler: (config) => new TCDScheduler(config),
  PNDMScheduler: (config) => new PNDMScheduler(config),
  LMSDiscreteScheduler: (config) => new LMSDiscreteScheduler(config),
  KDPM2DiscreteScheduler: (config) => new KDPM2DiscreteScheduler(config),
  KDPM2AncestralDiscreteScheduler: (config) => new KDPM2AncestralDiscreteScheduler(config),
}

/** Every scheduler `@pagkit/schedulers` ships, by diffusers class name. */
export const defaultSchedulers: SchedulerRegistry = { ...coreSchedulers, ...dpmFamilySchedulers }

/** Options of {@link createScheduler} and {@link schedulerFromConfig}. */
export interface CreateSchedulerOptions {
  /** Where to look class names up (default {@link defaultSchedulers}). */
  readonly registry?: SchedulerRegistry
}

/**
 * Builds the scheduler a `scheduler_config.json` names in `_class_name`.
 *
 * @example
 * const config = JSON.parse(await readFile("model/scheduler/scheduler_config.json", "utf8"))
 * const scheduler = createScheduler(config)
 * scheduler.setTimesteps(30)
 */
export function createScheduler(config: SchedulerConfig, options: CreateSchedulerOptions = {}): Scheduler {
  const registry = options.registry ?? defaultSchedulers
  const className = config["_class_name"]
  if (typeof className !== "string") {
    throw new InvalidSchedulerConfigError(
      `scheduler config has no _class_name (found ${JSON.stringify(className)}). Add "_class_name", e.g. "EulerDiscreteScheduler".`,
    )
  }
  const factory = Object.hasOwn(registry, className) ? registry[className] : undefined
  if (factory === undefined) {
    throw new UnknownSchedulerError(
      `unknown scheduler class "${className}". Supported: ${Object.keys(registry).sort().join(", ")}. ` +
        `Pick one of these, or pass { registry: { ...defaultSchedulers, ${className}: factory } }.`,
    )
  }
  return factory(config)
}

function isScheduler(value: Scheduler | SchedulerConfig): value is Scheduler {
  return typeof (value as Partial<Scheduler>).setTimesteps === "function" && typeof value["className"] === "string"
}

/**
 * diffusers' `SomeScheduler.from_config(pipe.scheduler.config, **overrides)`: a new scheduler built from another
 * scheduler's (or a config's) options. Pass `_class_name` in `overrides` to switch class; options the new class does
 * not know are ignored.
 *
 * @example
 * // swap a pipeline's scheduler for Euler ancestral, keeping its betas and spacing
 * const euler = schedulerFromConfig(pipeline.scheduler, { _class_name: "EulerAncestralDiscreteScheduler" })
 */
export function schedulerFromConfig(
  source: Scheduler | SchedulerConfig,
  overrides: SchedulerConfig = {},
  options: CreateSchedulerOptions = {},
): Scheduler {
  const base: SchedulerConfig = isScheduler(source) ? { ...source.config, _class_name: source.className } : source
  // overrides win over the source's defaults list, as from_config's kwargs do
  const usedDefaults = base["_use_default_values"]
  const stillDefault = Array.isArray(usedDefaults) ? usedDefaults.filter((key) => !(key in overrides)) : usedDefaults
  return createScheduler({ ...base, ...overrides, _use_default_values: stillDefault }, options)
}
