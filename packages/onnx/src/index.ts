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
export type { ModelLoadErrorCode, OnnxErrorCode } from "./errors.js"

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
export type { FeedForwardModule } from "./layers/layer-index.js"
export type { ModulePathSource } from "./layers/module-paths.js"
export { LAYER_TARGETS, layerSites } from "./layers/targets.js"
export type { LayerTarget } from "./layers/targets.js"
export { resolveLayers, structuredPrefix } from "./layers/patterns.js"
export type { LayerPatternMode, ResolveLayersOptions, ResolvedLayers } from "./layers/patterns.js"

// hooks
export { GraphEditor } from "./hooks/graph-editor.js"
export { IDENTITY_ATTENTION } from "./hooks/hook-kind.js"
export type { ControlInput, ControlLayout, FeedContext, HookKind, InstalledHook, RowActivation } from "./hooks/hook-kind.js"
export { controlFeeds, hookFeeds } from "./hooks/control-feeds.js"
export { installHooks } from "./hooks/install.js"
export { PAG_GATES_INPUT, identityAttention } from "./hooks/identity-attention.js"
export type { IdentityAttentionOptions } from "./hooks/identity-attention.js"
export { HookedModel } from "./hooks/hooked-model.js"
export { loadHookedModel, rewriteModel } from "./hooks/load-hooked-model.js"
export type { HookedModelOptions } from "./hooks/load-hooked-model.js"

// layer targets and guidance-family hook kinds (block skip for SLG, query blur for SEG)
export type { UnprojectedAttention } from "./layers/layer-index.js"
export { patchTokenGrid, unetTokenGrid } from "./layers/token-grid.js"
export type { TokenGrid, UNetGridConfig } from "./layers/token-grid.js"
export { BLOCK_SKIP, BLOCK_SKIP_GATES_INPUT, blockSkip } from "./hooks/block-skip.js"
export type { BlockSkipMode, BlockSkipOptions } from "./hooks/block-skip.js"
export { QUERY_BLUR, queryBlur } from "./hooks/query-blur.js"
export type { QueryBlurOptions } from "./hooks/query-blur.js"
export { gaussianBlurOperator, segKernelSize } from "./hooks/gaussian-blur-operator.js"
export type { GaussianBlurOptions } from "./hooks/gaussian-blur-operator.js"
export { batchParam, gateColumn, gatedReplace } from "./hooks/gate-column.js"

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
