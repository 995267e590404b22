/**
 * @pagkit/guidance-apg: Adaptive Projected Guidance middleware (momentum, norm threshold,
 * float64 projection onto the conditional prediction, eta, window).
 * @module
 */
export { apg } from "./apg.js"
export type { ApgJson, ApgMiddleware, ApgOptions, ResolvedApgOptions } from "./apg.js"
export { normalizedGuidance } from "./normalized-guidance.js"
export type { ApgFormulation, NormalizedGuidanceOptions, NormalizedGuidanceResult } from "./normalized-guidance.js"
