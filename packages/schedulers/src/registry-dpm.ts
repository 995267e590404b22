import { DEISMultistepScheduler } from "./deis-multistep.js"
import { DPMSolverMultistepScheduler } from "./dpm-solver-multistep.js"
import { DPMSolverSinglestepScheduler } from "./dpm-solver-singlestep.js"
import { EDMDPMSolverMultistepScheduler } from "./edm-dpm-solver-multistep.js"
import { SASolverScheduler } from "./sa-solver.js"
import type { SchedulerFactory } from "./scheduler.js"
import { UniPCMultistepScheduler } from "./unipc-multistep.js"

/** Factories of the DPM-Solver family (DPM-Solver multistep/singlestep, UniPC, DEIS, EDM DPM-Solver, SA-Solver). */
export const dpmFamilySchedulers: Readonly<Record<string, SchedulerFactory>> = {
  DPMSolverMultistepScheduler: (config) => new DPMSolverMultistepScheduler(config),
  DPMSolverSinglestepScheduler: (config) => new DPMSolverSinglestepScheduler(config),
  UniPCMultistepScheduler: (config) => new UniPCMultistepScheduler(config),
  DEISMultistepScheduler: (config) => new DEISMultistepScheduler(config),
  EDMDPMSolverMultistepScheduler: (config) => new EDMDPMSolverMultistepScheduler(config),
  SASolverScheduler: (config) => new SASolverScheduler(config),
}
