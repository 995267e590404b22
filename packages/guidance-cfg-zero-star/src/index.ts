/**
 * @pagkit/guidance-cfg-zero-star: CFG-Zero* middleware (per-sample optimized scale, zero-init steps).
 * @module
 */
export { cfgZeroStar } from "./cfg-zero-star.js"
export type { CfgZeroStarJson, CfgZeroStarMiddleware, CfgZeroStarOptions, ResolvedCfgZeroStarOptions } from "./cfg-zero-star.js"
export { cfgZeroStarGuidance, cfgZeroStarScale } from "./optimized-scale.js"
