/**
 * @pagkit/guidance-fdg: Frequency-Decoupled Guidance middleware (kornia's Laplacian pyramid,
 * a guidance scale, parallel weight and window per level).
 * @module
 */
export { fdg } from "./fdg.js"
export type { FdgJson, FdgMiddleware, FdgOptions, ResolvedFdgOptions } from "./fdg.js"
export { frequencyDecoupledGuidance, project } from "./frequency-decoupled.js"
export type { FdgLevelsOptions } from "./frequency-decoupled.js"
export { buildImageFromPyramid, buildLaplacianPyramid, pyramidSize } from "./laplacian-pyramid.js"
export type { LaplacianPyramid } from "./laplacian-pyramid.js"
