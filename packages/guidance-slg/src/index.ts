/**
 * @pagkit/guidance-slg: Skip-Layer Guidance (SLG) as a guidance middleware.
 * @module
 */
export { BLOCK_SKIP, slg } from "./slg.js"
export type { ResolvedSlgOptions, SlgMiddleware, SlgOptions } from "./slg.js"
