import { denoisingStartTimesteps, img2imgTimesteps, truncateAtDenoisingEnd } from "@pagkit/schedulers"
import type { Scheduler } from "@pagkit/schedulers"
import type { SdxlCallOptions } from "./sdxl-options.js"
import { checkNumber } from "./sdxl-options.js"

/** diffusers' `retrieve_timesteps`: a step count, or explicit timesteps / sigmas. */
export function setSchedule(scheduler: Scheduler, options: SdxlCallOptions, numInferenceSteps: number): void {
  if (options.timesteps !== undefined) scheduler.setTimesteps({ timesteps: options.timesteps })
  else if (options.sigmas !== undefined) scheduler.setTimesteps({ sigmas: options.sigmas })
  else scheduler.setTimesteps(numInferenceSteps)
}

/** Text-to-image timesteps, cut at `denoisingEnd` when given. */
export function text2imageTimesteps(scheduler: Scheduler, options: SdxlCallOptions, numInferenceSteps: number): readonly number[] {
  setSchedule(scheduler, options, numInferenceSteps)
  const all = scheduler.timesteps
  return options.denoisingEnd === undefined ? all : truncateAtDenoisingEnd(scheduler, all, options.denoisingEnd)
}

/** img2img / inpainting timesteps: the last `strength` of the schedule, or those after `denoisingStart`. */
export function strengthTimesteps(
  scheduler: Scheduler,
  options: SdxlCallOptions & { readonly strength?: number; readonly denoisingStart?: number },
  numInferenceSteps: number,
  defaultStrength: number,
): readonly number[] {
  checkNumber("strength", options.strength, { min: 0, max: 1, minExclusive: true })
  checkNumber("denoisingStart", options.denoisingStart, { min: 0, max: 1, minExclusive: true })
  const run =
    options.denoisingStart !== undefined
      ? denoisingStartTimesteps(scheduler, numInferenceSteps, options.denoisingStart)
      : img2imgTimesteps(scheduler, numInferenceSteps, options.strength ?? defaultStrength)
  const timesteps = run.timesteps
  return options.denoisingEnd === undefined
    ? timesteps
    : truncateAtDenoisingEnd(scheduler, timesteps, options.denoisingEnd, options.denoisingStart)
}
