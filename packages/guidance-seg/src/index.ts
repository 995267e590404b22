/**
 * @pagkit/guidance-seg: Smoothed Energy Guidance (SEG) as a guidance middleware.
 * @module
 */
export { QUERY_BLUR, seg } from "./seg.js"
export type { ResolvedSegOptions, SegMiddleware, SegOptions } from "./seg.js"
