// PixArt-Sigma part of @pagkit/pipelines; the package's src/index.ts re-exports these names.
export { PixArtSigmaPipeline } from "./pixart-sigma-pipeline.js"
export { PIXART_CALL_OPTIONS, PIXART_DEFAULT_PAG_LAYERS, PixArtSigmaOutput } from "./pixart-options.js"
export type { PixArtSigmaCallOptions, PixArtSigmaPipelineOptions } from "./pixart-options.js"
export { pixartCallFromDiffusers } from "./diffusers-call.js"
export type { MappedPixArtCall } from "./diffusers-call.js"
