/**
 * `@pagkit/pipelines`: Text2Image, Image2Image and Inpainting pipelines with guidance chains, and AutoPipeline.
 * @module
 */
export { AutoPipelineForImage2Image, AutoPipelineForInpainting, AutoPipelineForText2Image } from "./auto-pipeline.js"
export type { AnySdxlPipeline, FromPipeOptions, FromPretrainedOptions } from "./auto-pipeline.js"
export { DiffusionPipeline, defaultFamilies, familyOf } from "./diffusion-pipeline.js"
export type { DiffusionPipelineOptions, Text2ImagePipeline } from "./diffusion-pipeline.js"
export type { FamilyLoadOptions, FamilyPipeline, FamilyTable, PipelineFamily, PipelineTask } from "./core/family.js"
export { sdxlFamily } from "./sdxl/family.js"
export { pixartSigmaFamily } from "./pixart/family.js"
export { PipelineCore } from "./core/pipeline-core.js"
export type { CoreCallOptions, CoreInit, FamilyRun, OutputParts, RunContext } from "./core/pipeline-core.js"
export { ModelHost } from "./core/model-host.js"
export { modelFolder } from "./core/model-source.js"
export type { HubLoadOptions } from "./core/model-source.js"
export type { ReleaseDenoiser, Rehook } from "./core/model-host.js"
export { defaultGuidanceCatalogue, defaultHookKinds, kindsByName } from "./core/catalogues.js"
export type { HookCatalogue } from "./core/catalogues.js"
export { SdxlHost } from "./sdxl/sdxl-pipeline.js"
export { pixartHost } from "./pixart/pixart-sigma-pipeline.js"
export type { PixArtHost, PixArtSigmaPipelineInit } from "./pixart/pixart-sigma-pipeline.js"
export { SdxlPipeline } from "./sdxl/sdxl-pipeline.js"
export type { PrepareContext, PreparedRun, SdxlPipelineInit, SdxlTask } from "./sdxl/sdxl-pipeline.js"
export { SdxlText2ImagePipeline } from "./sdxl/text2image.js"
export { SdxlImage2ImagePipeline } from "./sdxl/image2image.js"
export { SdxlInpaintPipeline } from "./sdxl/inpainting.js"
export { knownOptions } from "./sdxl/sdxl-options.js"
export type { SdxlCallOptions, SdxlImage2ImageOptions, SdxlInpaintOptions, SdxlText2ImageOptions } from "./sdxl/sdxl-options.js"
export type {
  ControlNetCallOptions,
  IpAdapterCallOptions,
  IpAdapterImageInput,
  IpAdapterLoadOptions,
  LoadedIpAdapter,
  UnetExtras,
} from "./sdxl/unet-extras.js"
export { runDenoisingLoop } from "./denoising-loop.js"
export type { DenoisingLoopOptions, StepEvent } from "./denoising-loop.js"
export { guidanceFromOptions, usesUncond } from "./guidance-options.js"
export type { GuidanceCallOptions, GuidanceDefaults } from "./guidance-options.js"
export { LayerResolver } from "./layer-resolver.js"
export type { LayerMatching } from "./layer-resolver.js"
export { gatherRows } from "./row-inputs.js"
export type { ConditionedInput, RowSource } from "./row-inputs.js"
export { readImageInput } from "./image-input.js"
export type { ImageInput } from "./image-input.js"
export { PipelineOutput } from "./output.js"
export { AbortedError, InvalidOptionError, NonFiniteError, PipelineError } from "./errors.js"
export type { PipelineErrorCode } from "./errors.js"
export { assertFiniteImages } from "./finite-images.js"
export { PIXART_CALL_OPTIONS, PIXART_DEFAULT_PAG_LAYERS, PixArtSigmaOutput, PixArtSigmaPipeline, pixartCallFromDiffusers } from "./pixart/index.js"
export type {
  MappedPixArtCall,
  PixArtSigmaCallOptions,
  PixArtSigmaPipelineOptions,
} from "./pixart/index.js"
export {
  PipelineWorker,
  RemoteError,
  WorkerClosedError,
  WorkerFailedError,
  WorkerOutput,
  pagkitErrorClasses,
  runInWorker,
  unserializableOptions,
} from "./worker/index.js"
export type {
  UnserializableOption,
  WireError,
  WorkerCallOptions,
  PipelineWorkerOptions,
  WorkerPipelineSpec,
  WorkerProgressEvent,
  WorkerRunOptions,
  WorkerRunRequest,
  WorkerTimings,
} from "./worker/index.js"
