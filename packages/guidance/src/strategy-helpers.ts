// Helpers the guidance-strategy packages share (options, diffusers' no-op rule, fold contract).
import { GuidanceOptionsError, PredictionShapeError } from "./errors.js"
import { addPredictions, asFloatTensor, scaledDifference } from "./guidance-math.js"
import type { FloatTensor } from "./guidance-math.js"
import { sameShape } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"

/** Python's `math.isclose(a, b)` with its defaults (rel_tol 1e-9, abs_tol 0), as diffusers' guiders use it. */
export function isClose(a: number, b: number): boolean {
  if (a === b) return true
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b))
}

/**
 * diffusers' "guidance is a no-op" rule (`_is_cfg_enabled` and friends): scale ≈ 1 with the
 * diffusers formulation `u + g(c − u)`, scale ≈ 0 with the original `c + g(c − u)`.
 */
export function isNeutralScale(scale: number, useOriginalFormulation: boolean): boolean {
  return isClose(scale, useOriginalFormulation ? 0 : 1)
}

/** Checks a boolean option; `fallback` when undefined. */
export function validateBoolean(value: boolean | undefined, what: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== "boolean") {
    throw new GuidanceOptionsError(`${what}: expected true or false, found ${JSON.stringify(value)}.`)
  }
  return value
}

/** Checks a finite number option (any sign); `fallback` when undefined. */
export function validateFinite(value: number | undefined, what: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new GuidanceOptionsError(`${what}: expected a finite number, found ${JSON.stringify(value)}.`)
  }
  return value
}

/** Checks an options argument is a plain object. */
export function checkOptionsObject(options: unknown, factory: string, example: string): asserts options is object {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new GuidanceOptionsError(`${factory}: expected an options object like ${example}, found ${JSON.stringify(options)}.`)
  }
}

/** The conditional and unconditional predictions as float tensors of one dtype and shape. */
export function condUncond(preds: { get(branch: string): Tensor }, what: string): [FloatTensor, FloatTensor] {
  const cond = asFloatTensor(preds.get("cond"), `${what}: conditional prediction`)
  const uncond = asFloatTensor(preds.get("uncond"), `${what}: unconditional prediction`)
  if (cond.dtype !== uncond.dtype || !sameShape(cond.shape, uncond.shape)) {
    throw new PredictionShapeError(
      `${what}: expected the conditional and unconditional predictions to share dtype and shape, found ` +
        `${cond.describe()} and ${uncond.describe()}. Both must come from the same denoiser output.`,
    )
  }
  return [cond, uncond]
}

/**
 * Fold contract of `@pagkit/guidance`: first in the chain (`prev` undefined) the strategy's own
 * guided prediction is returned unchanged (diffusers' exact rounding); after another term, its
 * offset from `c` is added to what the chain has so far.
 */
export function foldGuided(prev: Tensor | undefined, guided: Tensor, cond: Tensor): Tensor {
  if (prev === undefined) return guided
  return addPredictions(prev, scaledDifference(1, guided, cond))
}
