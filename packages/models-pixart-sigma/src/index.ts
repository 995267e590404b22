/**
 * @pagkit/models-pixart-sigma: PixArt-Sigma adapter — T5 prompt encoding with attention mask, the DiT transformer
 * with PAG's identity-attention hook, learned-sigma split and resolution binning.
 * @module
 */
export { PixArtError, PixArtInputError, PixArtModelError, PixArtSizeError } from "./errors.js"
export type { PixArtErrorCode } from "./errors.js"
export {
  ASPECT_RATIO_256_BIN,
  ASPECT_RATIO_512_BIN,
  ASPECT_RATIO_1024_BIN,
  ASPECT_RATIO_2048_BIN,
  aspectRatioBinsFor,
  classifyHeightWidthBin,
} from "./aspect-ratio-bins.js"
export type { AspectRatioBin, AspectRatioBins } from "./aspect-ratio-bins.js"
export { planPixArtSize } from "./image-size.js"
export type { PixArtSizePlan, PixArtSizeRequest, PixArtSizeRule } from "./image-size.js"
export { resizeAndCropImages } from "./resize-and-crop.js"
export { assertT5TextEncoder, runT5Encoder } from "./text-encoder.js"
export { DEFAULT_MAX_SEQUENCE_LENGTH, encodePixArtPrompt } from "./encode-prompt.js"
export type { PixArtEncodeOptions, PixArtPromptEmbeds, PixArtTextComponents, PixArtTokenizer } from "./encode-prompt.js"
export { PixArtTransformer } from "./pixart-transformer.js"
export type { PixArtDenoiseInput, PixArtTransformerOptions } from "./pixart-transformer.js"
export { PixArtSigmaModel } from "./pixart-model.js"
export type { PixArtSigmaParts } from "./pixart-model.js"
export { loadPixArtSigma, loadPixArtTransformer } from "./load-pixart-sigma.js"
export type { LoadPixArtSigmaOptions, LoadPixArtTransformerOptions } from "./load-pixart-sigma.js"
