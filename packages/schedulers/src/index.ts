/**
 * @pagkit/schedulers: diffusers-compatible noise schedulers built from scheduler_config.json.
 * @module
 */
export type {
  Scheduler,
  SchedulerConfig,
  SchedulerFactory,
  SetTimestepsOptions,
  StepOptions,
  StepOutput,
} from "./scheduler.js"
export {
  InvalidSchedulerConfigError,
  SchedulerArgumentError,
  SchedulerError,
  SchedulerStateError,
  UnknownSchedulerError,
} from "./errors.js"
export { coreSchedulers, createScheduler, defaultSchedulers, schedulerFromConfig } from "./registry.js"
export type { CreateSchedulerOptions, SchedulerRegistry } from "./registry.js"
export { dpmFamilySchedulers } from "./registry-dpm.js"
export { denoisingStartTimesteps, img2imgTimesteps, truncateAtDenoisingEnd } from "./img2img.js"
export type { Img2ImgTimesteps } from "./img2img.js"

export { DDIMScheduler, ddimDefaults } from "./ddim.js"
export type { DDIMConfig, DDIMStepOptions } from "./ddim.js"
export { DDPMScheduler, ddpmDefaults } from "./ddpm.js"
export type { DDPMConfig } from "./ddpm.js"
export { PNDMScheduler, pndmDefaults } from "./pndm.js"
export type { PNDMConfig } from "./pndm.js"
export { LMSDiscreteScheduler, lmsDiscreteDefaults } from "./lms-discrete.js"
export type { LMSDiscreteConfig, LMSStepOptions } from "./lms-discrete.js"
export { EulerDiscreteScheduler, eulerDiscreteDefaults } from "./euler-discrete.js"
export type { EulerDiscreteConfig, EulerStepOptions } from "./euler-discrete.js"
export { EulerAncestralDiscreteScheduler, eulerAncestralDiscreteDefaults } from "./euler-ancestral-discrete.js"
export type { EulerAncestralDiscreteConfig } from "./euler-ancestral-discrete.js"
export { HeunDiscreteScheduler, heunDiscreteDefaults } from "./heun-discrete.js"
export type { HeunDiscreteConfig } from "./heun-discrete.js"
export { KDPM2AncestralDiscreteScheduler, KDPM2DiscreteScheduler, kdpm2Defaults } from "./kdpm2-discrete.js"
export type { KDPM2Config } from "./kdpm2-discrete.js"
export { LCMScheduler, lcmDefaults } from "./lcm.js"
export type { LCMConfig, LCMSetTimestepsOptions, LCMStepOutput } from "./lcm.js"
export { TCDScheduler, tcdDefaults } from "./tcd.js"
export type { TCDStepOptions, TCDStepOutput } from "./tcd.js"
export {
  FlowMatchEulerDiscreteScheduler,
  calculateShift,
  flowMatchEulerDiscreteDefaults,
} from "./flow-match-euler-discrete.js"
export type { FlowMatchEulerDiscreteConfig } from "./flow-match-euler-discrete.js"
export { EDMEulerScheduler, edmEulerDefaults } from "./edm-euler.js"
export type { EDMEulerConfig } from "./edm-euler.js"

export { DPMSolverMultistepScheduler, dpmSolverMultistepDefaults } from "./dpm-solver-multistep.js"
export type { DPMSolverMultistepConfig } from "./dpm-solver-multistep.js"
export { DPMSolverSinglestepScheduler, dpmSolverSinglestepDefaults } from "./dpm-solver-singlestep.js"
export type { DPMSolverSinglestepConfig } from "./dpm-solver-singlestep.js"
export { UniPCMultistepScheduler, uniPCMultistepDefaults } from "./unipc-multistep.js"
export type { UniPCMultistepConfig } from "./unipc-multistep.js"
export { DEISMultistepScheduler, deisMultistepDefaults } from "./deis-multistep.js"
export type { DEISMultistepConfig } from "./deis-multistep.js"
export { EDMDPMSolverMultistepScheduler, edmDpmSolverMultistepDefaults } from "./edm-dpm-solver-multistep.js"
export type { EDMDPMSolverMultistepConfig } from "./edm-dpm-solver-multistep.js"
export { SASolverScheduler, saSolverDefaults } from "./sa-solver.js"
export type { SASolverConfig, TauFunction } from "./sa-solver.js"
