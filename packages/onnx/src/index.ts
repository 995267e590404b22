/**
 * @pagkit/onnx: onnxruntime-node sessions, ONNX graph editing and hooks by layer path.
 * @module
 */
export {
  HookError,
  InputError,
  LayerIndexError,
  LayerPatternError,
  ModelLoadError,
  OnnxError,
  OnnxProtoError,
  RunError,
} from "./errors.js"
export type { OnnxErrorCode } from "./errors.js"

// sessions
export { createSession } from "./session/create-session.js"
export type { SessionOptions } from "./session/create-session.js"
export { ModelSession } from "./session/model-session.js"
export type { ElementType, IoInfo } from "./session/io-info.js"

// ONNX protobuf codec
export { decodeModel } from "./proto/decode.js"
export { encodeModel } from "./proto/encode.js"
export { DataType } from "./proto/types.js"
export type {
  DataTypeCode,
  GraphProto,
  InitializerProto,
  ModelProto,
  NodeProto,
  OpsetImport,
  StringEntry,
  ValueInfoProto,
} from "./proto/types.js"
export { makeTensorValueInfo, tensorTypeOf } from "./proto/tensor-type.js"
export type { TensorType } from "./proto/tensor-type.js"
export {
  float32Initializer,
  floatAttribute,
  int64Initializer,
  intAttribute,
  intsAttribute,
  makeInitializer,
  makeNode,
} from "./proto/build.js"

// layer index and patterns
export { buildLayerIndex } from "./layers/layer-index.js"
export type { AttentionModule, LayerIndex, LinearProjection, TransformerBlock } from "./layers/layer-index.js"
export type { ModulePathSource } from "./layers/module-paths.js"
export { resolveLayers, structuredPrefix } from "./layers/patterns.js"
export type { LayerPatternMode, ResolveLayersOptions, ResolvedLayers } from "./layers/patterns.js"

// hooks
export { GraphEditor } from "./hooks/graph-editor.js"
export type { ControlInput, HookKind, InstalledHook } from "./hooks/hook-kind.js"
export { installHooks } from "./hooks/install.js"
export { PAG_GATES_INPUT, identityAttention } from "./hooks/identity-attention.js"
export type { IdentityAttentionOptions } from "./hooks/identity-attention.js"
export { HookedModel } from "./hooks/hooked-model.js"
export { loadHookedModel, rewriteModel } from "./hooks/load-hooked-model.js"
export type { HookedModelOptions } from "./hooks/load-hooked-model.js"

// split execution: rows that share their inputs share the prefix before the first perturbed layer
export { splitAtLayers } from "./split/split-at-layers.js"
export type { CrossingTensor, SplitAtLayersOptions, SplitGraphs, SplitStats } from "./split/split-at-layers.js"
export { SPLIT_ROW_INDEX_INPUT, fuseSplit } from "./split/fuse-split.js"
export type { FuseSplitOptions } from "./split/fuse-split.js"
export { loadSplit, splitCacheKey } from "./split/load-split.js"
export type { LoadSplitOptions, LoadedSplit, SplitMeta } from "./split/load-split.js"
export { SplitSession } from "./split/split-session.js"
export type { SplitRunReport, SplitSessionOptions } from "./split/split-session.js"
export { splitWorthIt } from "./split/split-worth-it.js"
export type { SplitCostInput, SplitExecution } from "./split/split-worth-it.js"
