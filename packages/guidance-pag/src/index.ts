/**
 * @pagkit/guidance-pag: Perturbed-Attention Guidance middleware (identity self-attention hook by
 * layer pattern, adaptive scale, window).
 * @module
 */
export { adaptivePagScale } from "./adaptive-scale.js"
export { IDENTITY_ATTENTION, pag } from "./pag.js"
export type { PagMiddleware, PagOptions, ResolvedPagOptions } from "./pag.js"
