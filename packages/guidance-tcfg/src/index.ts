/**
 * @pagkit/guidance-tcfg: Tangential Classifier-Free Guidance middleware.
 * @module
 */
export { tcfg } from "./tcfg.js"
export type { ResolvedTcfgOptions, TcfgJson, TcfgMiddleware, TcfgOptions } from "./tcfg.js"
export { projectUncond, tangentialGuidance } from "./tangential-guidance.js"
