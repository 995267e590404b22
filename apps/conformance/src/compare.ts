import { maxAbsDiff, permute, relativeL2 } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"

/** One measured comparison: a value against a tolerance. */
export interface Measure {
  readonly what: string
  readonly value: number
  readonly tolerance: number
}

/** True when every measure is within its tolerance (NaN never is). */
export function allWithin(measures: readonly Measure[]): boolean {
  return measures.every((m) => m.value <= m.tolerance)
}

/** `what=1.2e-7` items, worst first, for a result line. */
export function describeMeasures(measures: readonly Measure[], limit = 4): string {
  const failed = measures.filter((m) => !(m.value <= m.tolerance))
  const shown = (failed.length > 0 ? failed : [...measures].sort((a, b) => b.value / b.tolerance - a.value / a.tolerance)).slice(0, limit)
  const text = shown.map((m) => `${m.what}=${m.value.toExponential(2)}${m.value <= m.tolerance ? "" : ` > ${m.tolerance}`}`).join(" ")
  return `${failed.length > 0 ? `${failed.length} over tolerance: ` : ""}${text}`
}

/** Max abs difference, shape-checked (a shape mismatch measures as Infinity). */
export function measureMaxAbs(what: string, actual: Tensor, expected: Tensor, tolerance: number): Measure {
  const same = actual.shape.length === expected.shape.length && actual.shape.every((d, i) => d === expected.shape[i])
  return { what, value: same ? maxAbsDiff(actual, expected) : Number.POSITIVE_INFINITY, tolerance }
}

/** Relative L2 error, shape-checked. */
export function measureRelL2(what: string, actual: Tensor, expected: Tensor, tolerance: number): Measure {
  const same = actual.shape.length === expected.shape.length && actual.shape.every((d, i) => d === expected.shape[i])
  return { what, value: same ? relativeL2(actual, expected) : Number.POSITIVE_INFINITY, tolerance }
}

/** `[N, C, H, W]` → `[N, H, W, C]` (diffusers' `output_type="np"` layout). */
export function toNhwc(images: Tensor): Tensor {
  return permute(images, [0, 2, 3, 1])
}

/** `snake_case` → `camelCase`. */
export function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())
}
