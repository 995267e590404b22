/**
 * @pagkit/ip-adapter: IP-Adapter adapter — CLIP image preprocessing, the image encoder, the image projection and
 * the decoupled cross-attention as an ONNX hook kind.
 * @module
 */
export { IpAdapterError, IpAdapterInputError, IpAdapterModelError, IpAdapterWeightsError } from "./errors.js"
export type { IpAdapterErrorCode } from "./errors.js"

// PIL resize lives in @pagkit/tensor; re-exported here so this package's API stays as it was.
export { pilResize, pixels8ToTensor, tensorToPixels8 } from "@pagkit/tensor"
export type { PilFilter, Pixels8, ResampleFlavor, ResizeTarget } from "@pagkit/tensor"
export {
  CLIP_DEFAULTS,
  clipPreprocess,
  loadClipImageProcessorConfig,
  parseClipImageProcessorConfig,
  shortestEdgeSize,
} from "./clip-image-processor.js"
export type { ClipImageProcessorConfig } from "./clip-image-processor.js"

export { ImageEncoder } from "./image-encoder.js"
export type { ImageEncoderOptions } from "./image-encoder.js"
export {
  detectIpAdapterVariant,
  parseAnyIpAdapterWeights,
  parseIpAdapterWeights,
  readAnyIpAdapterWeights,
  readIpAdapterTensors,
  readIpAdapterWeights,
} from "./ip-adapter-weights.js"
export type {
  AnyIpAdapterWeights,
  IpAdapterAttentionWeights,
  IpAdapterLayerWeights,
  IpAdapterPlusWeights,
  IpAdapterVariant,
  IpAdapterWeights,
  IpAdapterWeightsOptions,
} from "./ip-adapter-weights.js"
export { projectImageEmbeds } from "./image-projection.js"
export { PLUS_HEAD_DIM, parsePlusProjection } from "./plus-projection-weights.js"
export type { PlusProjectionBlock, PlusProjectionWeights } from "./plus-projection-weights.js"
export { projectPlusHiddenStates } from "./plus-image-projection.js"
export { PlusProjectionSession, plusProjectionModel } from "./plus-projection-session.js"
export { imageTokensForRows } from "./row-tokens.js"
export type { ConditionedTokens, TokenRow } from "./row-tokens.js"

export {
  IP_ADAPTER_KIND,
  IP_ADAPTER_MASK_INPUT,
  IP_ADAPTER_SCALE_INPUT,
  IP_ADAPTER_TOKENS_INPUT,
  ipAdapterAttention,
  ipAdapterInputNames,
  ipAdapterLayerOrder,
} from "./ip-adapter-attention.js"
export type { IpAdapterAttentionOptions } from "./ip-adapter-attention.js"
export { expandIpAdapterScale, ipAdapterScaleTensor } from "./ip-adapter-scale.js"
export type { BlockScale, IpAdapterScaleInput } from "./ip-adapter-scale.js"

export { IpAdapter, loadIpAdapter, loadIpAdapters } from "./ip-adapter.js"
export type { IpAdapterImage, LoadIpAdapterOptions, PreparedImageEmbeds } from "./ip-adapter.js"
export { IpAdapterUnet, ipAdapterHook, loadIpAdapterUnet } from "./ip-adapter-unet.js"
export type { IpAdapterUnetOptions } from "./ip-adapter-unet.js"
