/**
 * @pagkit/guidance-mambo: MAMBO-G middleware (magnitude-aware guidance scale).
 * @module
 */
export { mambo } from "./mambo.js"
export type { MamboJson, MamboMiddleware, MamboOptions, ResolvedMamboOptions } from "./mambo.js"
export { mamboGuidance } from "./mambo-guidance.js"
export type { MamboGuidanceOptions } from "./mambo-guidance.js"
