import {
  ControlImageError,
  ControlNetError,
  ControlNetModelError,
  ControlNetOptionsError,
  UnetResidualsError,
} from "@pagkit/controlnet"
import {
  BranchConflictError,
  DuplicateMiddlewareError,
  GuidanceError,
  GuidanceOptionsError,
  MissingPredictionError,
  PredictionShapeError,
  UndeclaredHookError,
} from "@pagkit/guidance"
import { IpAdapterError, IpAdapterInputError, IpAdapterModelError, IpAdapterWeightsError } from "@pagkit/ip-adapter"
import {
  ComponentKindError,
  ImageSizeError,
  MissingModelFileError,
  ModelConfigError,
  ModelFolderError,
  ModelInputError,
  ModelsError,
} from "@pagkit/models-core"
import { PixArtError, PixArtInputError, PixArtModelError, PixArtSizeError } from "@pagkit/models-pixart-sigma"
import {
  HookError,
  InputError,
  LayerIndexError,
  LayerPatternError,
  ModelLoadError,
  OnnxError,
  OnnxProtoError,
  RunError,
} from "@pagkit/onnx"
import {
  InvalidSchedulerConfigError,
  SchedulerArgumentError,
  SchedulerError,
  SchedulerStateError,
  UnknownSchedulerError,
} from "@pagkit/schedulers"
import {
  ImageError,
  InvalidGeneratorStateError,
  InvalidSeedError,
  PagkitError,
  SafetensorsError,
  ShapeError,
  TensorError,
  UnsupportedRandomDTypeError,
} from "@pagkit/tensor"
import type { ErrorClass } from "@pagkit/tensor"
import {
  TokenizerError,
  TokenizerFileMissingError,
  TokenizerFolderNotFoundError,
  TokenizerInputError,
  TokenizerMalformedFileError,
  UnsupportedTokenizerError,
} from "@pagkit/tokenizers"
import { AbortedError, InvalidOptionError, NonFiniteError, PipelineError } from "../errors.js"

/**
 * Every error class of the packages a pipeline runs, by which an error thrown in the worker thread is re-created
 * on the host as an instance of its own class (`instanceof ModelFolderError`, `.code`, `.path` all hold).
 */
export const pagkitErrorClasses: readonly ErrorClass[] = [
  PagkitError,
  TensorError, ShapeError, SafetensorsError, ImageError, InvalidSeedError, UnsupportedRandomDTypeError, InvalidGeneratorStateError,
  SchedulerError, UnknownSchedulerError, InvalidSchedulerConfigError, SchedulerArgumentError, SchedulerStateError,
  OnnxError, ModelLoadError, OnnxProtoError, InputError, RunError, LayerIndexError, LayerPatternError, HookError,
  TokenizerError, TokenizerFolderNotFoundError, TokenizerFileMissingError, TokenizerMalformedFileError, UnsupportedTokenizerError, TokenizerInputError,
  GuidanceError, GuidanceOptionsError, DuplicateMiddlewareError, BranchConflictError, UndeclaredHookError, MissingPredictionError, PredictionShapeError,
  ModelsError, ModelFolderError, MissingModelFileError, ModelConfigError, ComponentKindError, ImageSizeError, ModelInputError,
  PixArtError, PixArtModelError, PixArtSizeError, PixArtInputError,
  ControlNetError, ControlImageError, UnetResidualsError, ControlNetOptionsError, ControlNetModelError,
  IpAdapterError, IpAdapterWeightsError, IpAdapterInputError, IpAdapterModelError,
  PipelineError, InvalidOptionError, AbortedError, NonFiniteError,
]
