import { GuidanceOptionsError } from "./errors.js"
import type { GuidanceWindow, StepContext } from "./types.js"

/** The window that covers the whole run. */
export const fullWindow: GuidanceWindow = Object.freeze([0, 1] as const)

/**
 * True when the step lies in the window, with diffusers' guider rule
 * (`guiders/guider_utils.py`, `BaseGuidance` start/stop):
 * `int(start·N) ≤ stepIndex < int(end·N)`.
 */
export function isInWindow(window: GuidanceWindow, ctx: StepContext): boolean {
  const [start, end] = window
  if (start === 0 && end === 1) return true
  const firstStep = Math.trunc(start * ctx.numSteps)
  const stopStep = Math.trunc(end * ctx.numSteps)
  return firstStep <= ctx.stepIndex && ctx.stepIndex < stopStep
}

/**
 * Checks a `[start, end]` window option and returns it frozen; `undefined` gives {@link fullWindow}.
 * Throws {@link GuidanceOptionsError} for a window outside [0, 1] or an empty one.
 */
export function validateWindow(window: GuidanceWindow | undefined, what: string): GuidanceWindow {
  if (window === undefined) return fullWindow
  if (!Array.isArray(window) || window.length !== 2) {
    throw new GuidanceOptionsError(
      `${what}: expected a [start, end] pair of fractions of the run, found ${JSON.stringify(window)}. Pass e.g. [0, 0.5].`,
    )
  }
  const [start, end] = window
  const isFraction = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= 1
  if (!isFraction(start) || !isFraction(end)) {
    throw new GuidanceOptionsError(
      `${what}: expected start and end in [0, 1] (fractions of the run), found [${String(start)}, ${String(end)}]. Use e.g. [0.2, 0.8].`,
    )
  }
  if (start >= end) {
    throw new GuidanceOptionsError(
      `${what}: the window [${start}, ${end}] is empty; expected start < end. Swap the values or widen the window.`,
    )
  }
  return Object.freeze([start, end] as const)
}

/**
 * Checks a non-negative, finite number option (a scale) and returns it; `fallback` when undefined.
 * Throws {@link GuidanceOptionsError} with the option's name otherwise.
 */
export function validateScale(value: number | undefined, what: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new GuidanceOptionsError(
      `${what}: expected a finite number >= 0, found ${String(value)}. Use 0 to switch this term off.`,
    )
  }
  if (value >= MAX_GUIDANCE_SCALE) {
    throw new GuidanceOptionsError(
      `${what}: expected a scale below ${MAX_GUIDANCE_SCALE}, found ${String(value)}: a scale that large overflows float32 predictions to Infinity and NaN (a black image). Usual values are 1–15.`,
    )
  }
  return value
}

/**
 * How a perturbation strategy's own window is read:
 * - `"guider"`: diffusers' SLG/SEG guiders, `int(start·N) < stepIndex < int(end·N)` (both ends open);
 * - `"sd3"`: the SD3 pipeline's skip-layer arguments, `start·N < stepIndex < end·N` (float products);
 * - `"base"`: the `BaseGuidance` rule of {@link isInWindow}, `int(start·N) ≤ stepIndex < int(end·N)`.
 */
export type WindowRule = "guider" | "sd3" | "base"

/** True when the step lies in the window under a {@link WindowRule}. */
export function isInWindowBy(rule: WindowRule, window: GuidanceWindow, ctx: StepContext): boolean {
  const [start, end] = window
  const i = ctx.stepIndex
  const n = ctx.numSteps
  if (rule === "base") return isInWindow(window, ctx)
  if (rule === "sd3") return i > n * start && i < n * end
  return Math.trunc(start * n) < i && i < Math.trunc(end * n)
}

/** Checks a {@link WindowRule} option. */
export function validateWindowRule(rule: unknown, what: string, fallback: WindowRule): WindowRule {
  if (rule === undefined) return fallback
  if (rule !== "guider" && rule !== "sd3" && rule !== "base") {
    throw new GuidanceOptionsError(`${what}: expected "guider", "sd3" or "base", found ${JSON.stringify(rule)}.`)
  }
  return rule
}
/** Guidance scales at or above this are refused: they overflow float32 predictions (issue 16, item 2). */
export const MAX_GUIDANCE_SCALE = 1e6
