// Where an image-to-image run starts in the schedule, ported from diffusers
// `pipelines/stable_diffusion_xl/pipeline_stable_diffusion_xl_img2img.py` (`get_timesteps`, denoising_end handling).
import { SchedulerArgumentError } from "./errors.js"
import type { Scheduler } from "./scheduler.js"

/** The part of the schedule an img2img run denoises. */
export interface Img2ImgTimesteps {
  /** The timesteps to run, in order (`scheduler.timesteps[startIndex:]`). */
  readonly timesteps: readonly number[]
  /** Index in `scheduler.timesteps` of the first one (also passed to `setBeginIndex`). */
  readonly startIndex: number
  /** diffusers' returned `num_inference_steps` (steps, not model calls, for the `strength` form). */
  readonly numSteps: number
}

function numTrainTimesteps(scheduler: Scheduler): number {
  const n = scheduler.config["num_train_timesteps"]
  return typeof n === "number" ? n : 1000
}

/**
 * Sets `numInferenceSteps` timesteps and keeps the last `strength` fraction, as SDXL img2img's `get_timesteps`:
 * `init = min(⌊N·strength⌋, N)`, `t_start = N − init`, timesteps from `t_start·order`, and `setBeginIndex` there.
 * Noise the encoded image at `timesteps[0]` (`scheduler.addNoise`) before the loop.
 *
 * @example
 * const { timesteps } = img2imgTimesteps(scheduler, 30, 0.6) // the last 18 of 30 steps
 * const noisy = scheduler.addNoise(imageLatents, noise, [timesteps[0]!])
 */
export function img2imgTimesteps(scheduler: Scheduler, numInferenceSteps: number, strength: number): Img2ImgTimesteps {
  if (typeof strength !== "number" || !(strength > 0 && strength <= 1)) {
    throw new SchedulerArgumentError(
      `img2img strength should be in (0, 1], found ${String(strength)}. Use 1 to ignore the input image, smaller values to keep more of it.`,
    )
  }
  scheduler.setTimesteps(numInferenceSteps)
  const initTimestep = Math.min(Math.trunc(numInferenceSteps * strength), numInferenceSteps)
  const tStart = Math.max(numInferenceSteps - initTimestep, 0)
  const numSteps = numInferenceSteps - tStart
  if (numSteps < 1) {
    throw new SchedulerArgumentError(
      `img2img with ${numInferenceSteps} steps and strength ${strength} runs no step (⌊${numInferenceSteps}·${strength}⌋ = 0). Raise strength or numInferenceSteps.`,
    )
  }
  const startIndex = tStart * scheduler.order
  scheduler.setBeginIndex(startIndex)
  return { timesteps: scheduler.timesteps.slice(startIndex), startIndex, numSteps }
}

function checkFraction(name: string, value: number): void {
  if (typeof value !== "number" || !(value > 0 && value < 1)) {
    throw new SchedulerArgumentError(`${name} should be a fraction strictly between 0 and 1, found ${String(value)}.`)
  }
}

/** Python's `round` (half to even) for the cutoff computations. */
function pyRound(x: number): number {
  const r = Math.round(x)
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r
}

/**
 * The `denoising_start` form of `get_timesteps` (SDXL refiner hand-off): sets `numInferenceSteps` timesteps and keeps
 * those below the cutoff `round(T·(1 − denoisingStart))` (one more for second-order schedulers when even).
 *
 * @example
 * const { timesteps } = denoisingStartTimesteps(refinerScheduler, 40, 0.8)
 */
export function denoisingStartTimesteps(
  scheduler: Scheduler,
  numInferenceSteps: number,
  denoisingStart: number,
): Img2ImgTimesteps {
  checkFraction("denoisingStart", denoisingStart)
  scheduler.setTimesteps(numInferenceSteps)
  const T = numTrainTimesteps(scheduler)
  const cutoff = Math.trunc(pyRound(T - denoisingStart * T))
  let numSteps = scheduler.timesteps.filter((t) => t < cutoff).length
  if (scheduler.order === 2 && numSteps % 2 === 0) numSteps += 1
  const startIndex = scheduler.timesteps.length - numSteps
  scheduler.setBeginIndex(startIndex)
  return { timesteps: scheduler.timesteps.slice(startIndex), startIndex, numSteps }
}

/**
 * `denoising_end` (SDXL base hand-off): keeps the timesteps at or above `round(T·(1 − denoisingEnd))`.
 * Pass `denoisingStart` too when both are used, to get diffusers' check that start < end.
 *
 * @example
 * const base = truncateAtDenoisingEnd(scheduler, scheduler.timesteps, 0.8)
 */
export function truncateAtDenoisingEnd(
  scheduler: Scheduler,
  timesteps: readonly number[],
  denoisingEnd: number,
  denoisingStart?: number,
): number[] {
  checkFraction("denoisingEnd", denoisingEnd)
  if (denoisingStart !== undefined && denoisingStart >= denoisingEnd) {
    throw new SchedulerArgumentError(
      `denoisingStart (${denoisingStart}) should be smaller than denoisingEnd (${denoisingEnd}).`,
    )
  }
  const T = numTrainTimesteps(scheduler)
  const cutoff = Math.trunc(pyRound(T - denoisingEnd * T))
  const numSteps = timesteps.filter((t) => t >= cutoff).length
  return timesteps.slice(0, numSteps)
}
