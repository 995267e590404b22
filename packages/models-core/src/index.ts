/**
 * @pagkit/models-core: Model folders, the VAE, image processors and the hookable denoiser base.
 * @module
 */
export {
  ComponentKindError,
  EXPORT_FOLDER_LAYOUT,
  ImageSizeError,
  MissingModelFileError,
  ModelConfigError,
  ModelFolderError,
  ModelInputError,
  ModelsError,
} from "./errors.js"
export type { ModelsErrorCode } from "./errors.js"

export { LoadScope, withLoadScope } from "./load-scope.js"
export type { Releasable } from "./load-scope.js"

export { describeSessionIo, sessionInput, sessionOutput } from "./session.js"
export type { SessionIo, SessionLike } from "./session.js"

export {
  EXTERNAL_DATA_FILES,
  assertFolder,
  loadModelIndex,
  locateOnnxModel,
  readComponentConfig,
  readJsonFile,
} from "./model-folder.js"
export type { ComponentEntry, ModelIndex, OnnxModelLocation } from "./model-folder.js"
export { parsePythonJson } from "./python-json.js"
export { promptProblem } from "./prompt-list.js"

export { assertComponentKind, detectComponentKind } from "./component-kind.js"
export type { ComponentKind } from "./component-kind.js"

export { randnTensor } from "./random.js"
export type { GeneratorInput } from "./random.js"

export { LatentDistribution } from "./latent-distribution.js"
export { parseVaeConfig, vaeScaleFactor } from "./vae-config.js"
export type { VaeConfig } from "./vae-config.js"
export { Vae, denormalizeImages, normalizeImages } from "./vae.js"
export type { VaeLoadOptions, VaeParts } from "./vae.js"

export {
  defaultHeightWidth,
  lanczosResizer,
  maskImage,
  nearestResizer,
  preprocessImage,
  preprocessMask,
  resizeImages,
} from "./image-processor.js"
export type { ImageResizer, PreprocessOptions, ResizeMode } from "./image-processor.js"
export { applyOverlay, getCropRegion } from "./crop-region.js"
export type { CropBox, OverlayOptions } from "./crop-region.js"
export { postprocessImages, toNchw, toNhwc } from "./postprocess.js"
export type { ImageOutputType } from "./postprocess.js"

export { HookableDenoiser } from "./denoiser.js"
export type { DenoiserBatch, DenoiserRow, HookGateInput, HookableDenoiserOptions, RowHooks, TokenGridFactory } from "./denoiser.js"

export { MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE, checkImageArea, checkImageSize } from "./image-size.js"
export type { ImageSizeRule } from "./image-size.js"
export { gatesOfHooks, hookedDenoiserOptions } from "./hooked-denoiser.js"
export type { HookedModelLike } from "./hooked-denoiser.js"
