// ControlNet conditioning scales and guidance windows, as the diffusers ControlNet pipelines compute them
// (`check_inputs` for the validation, `__call__` "7.1 Create tensor stating which controlnets to keep").
import { ControlNetOptionsError } from "./errors.js"

/** One value for every ControlNet, or one per ControlNet. */
export type PerControlNet = number | readonly number[]

/** Conditioning scale and guidance window options (diffusers' names, camelCase). */
export interface ControlNetGuidanceOptions {
  /** `controlnet_conditioning_scale`. Default 1. */
  readonly conditioningScale?: PerControlNet
  /** `control_guidance_start` (fraction of the steps). Default 0. */
  readonly guidanceStart?: PerControlNet
  /** `control_guidance_end`. Default 1. */
  readonly guidanceEnd?: PerControlNet
}

/** Options resolved to one entry per ControlNet. */
export interface ControlNetSchedule {
  readonly scales: readonly number[]
  readonly starts: readonly number[]
  readonly ends: readonly number[]
}

function expand(value: PerControlNet | undefined, fallback: number, count: number, name: string, allowFirst: boolean): number[] {
  if (value === undefined) return Array.from({ length: count }, () => fallback)
  if (typeof value === "number") return Array.from({ length: count }, () => value)
  if (value.length === count) return [...value]
  // diffusers: a single ControlNet given a list uses its first entry
  if (allowFirst && count === 1 && value.length > 0) return [value[0]!]
  throw new ControlNetOptionsError(`${name} has ${value.length} entries for ${count} ControlNet(s); give one number or one per ControlNet.`)
}

/**
 * Validates and expands the options for `count` ControlNets (diffusers `check_inputs`: `0 ≤ start < end ≤ 1`).
 *
 * @example
 * resolveControlNetSchedule({ conditioningScale: 0.5, guidanceEnd: [0.5, 1] }, 2) // scales [0.5, 0.5], ends [0.5, 1]
 */
export function resolveControlNetSchedule(options: ControlNetGuidanceOptions, count: number): ControlNetSchedule {
  if (!Number.isInteger(count) || count < 1) throw new ControlNetOptionsError(`at least one ControlNet is needed, found ${count}.`)
  const scales = expand(options.conditioningScale, 1, count, "conditioningScale", true)
  const starts = expand(options.guidanceStart, 0, count, "guidanceStart", true)
  const ends = expand(options.guidanceEnd, 1, count, "guidanceEnd", true)
  for (const s of scales) {
    if (!Number.isFinite(s)) throw new ControlNetOptionsError(`conditioningScale must be finite numbers, found ${s}.`)
  }
  starts.forEach((start, i) => {
    const end = ends[i]!
    if (start >= end) throw new ControlNetOptionsError(`guidanceStart ${start} must be smaller than guidanceEnd ${end} (ControlNet ${i}).`)
    if (start < 0) throw new ControlNetOptionsError(`guidanceStart ${start} can't be smaller than 0 (ControlNet ${i}).`)
    if (end > 1) throw new ControlNetOptionsError(`guidanceEnd ${end} can't be larger than 1 (ControlNet ${i}).`)
  })
  return { scales, starts, ends }
}

/** diffusers' `controlnet_keep`: `1 − (i/N < start or (i+1)/N > end)`. */
export function controlNetKeep(stepIndex: number, numSteps: number, start: number, end: number): number {
  return 1 - (stepIndex / numSteps < start || (stepIndex + 1) / numSteps > end ? 1 : 0)
}

/** The conditioning scale of each ControlNet at a step: `scale · keep`. */
export function controlNetScalesAt(schedule: ControlNetSchedule, stepIndex: number, numSteps: number): number[] {
  return schedule.scales.map((scale, i) => scale * controlNetKeep(stepIndex, numSteps, schedule.starts[i]!, schedule.ends[i]!))
}
