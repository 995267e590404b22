/**
 * @pagkit/guidance-cfg: classifier-free guidance middleware (guidance_rescale, guidance window).
 * @module
 */
export { cfg } from "./cfg.js"
export type { CfgMiddleware, CfgOptions, ResolvedCfgOptions } from "./cfg.js"
export { rescaleNoiseCfg } from "./rescale.js"
