/**
 * `@pagkit/tensor`: tensors over typed arrays, torch-compatible RNG, safetensors and image I/O.
 * @module
 */
export { Tensor, allocate, checkShape, contiguousStrides, sameShape, shapeSize } from "./tensor.js"
export type { DType, DataTypeMap, Shape, TensorData } from "./tensor.js"
export { PagkitError, reviveError, serializeError } from "./pagkit-error.js"
export type { ErrorClass, SerializedError } from "./pagkit-error.js"
export { ImageError, SafetensorsError, ShapeError, TensorError } from "./errors.js"
export type { ImageErrorCode, SafetensorsErrorCode, TensorErrorCode } from "./errors.js"
export { checkFinite, countNonFinite, describeNonFinite } from "./check-finite.js"
export type { NonFiniteReport } from "./check-finite.js"
export { TorchGenerator } from "./random/index.js"
export type { RandomOptions } from "./random/index.js"
export { InvalidGeneratorStateError, InvalidSeedError, UnsupportedRandomDTypeError } from "./random/index.js"
export type { RandomDType, TorchGeneratorState } from "./random/index.js"

// safetensors
export { SafetensorsFile, readSafetensors } from "./safetensors/read.js"
export type { SafetensorsTensorInfo } from "./safetensors/read.js"
export { encodeSafetensors, writeSafetensors } from "./safetensors/write.js"
export type { SafetensorsWriteOptions } from "./safetensors/write.js"

// ops
export { broadcastShapes } from "./ops/broadcast.js"
export { float16BitsToFloat, floatToFloat16Bits, toDType, toFloat16, toFloat32 } from "./ops/cast.js"
export { add, axpy, clamp, div, lerp, map, mul, scale, sub, where } from "./ops/elementwise.js"
export type { Condition, Operand } from "./ops/elementwise.js"
export { interpolate } from "./ops/interpolate.js"
export type { InterpolateOptions } from "./ops/interpolate.js"
export { chunk, concat, select, slice, split, stack } from "./ops/layout.js"
export { permute, repeatInterleave, tile, transpose } from "./ops/permute.js"
export { maxAbs, maxAbsDiff, mean, meanPerSample, normPerSample, relativeL2, stdPerSample, sum } from "./ops/reduce.js"
export type { StdOptions } from "./ops/reduce.js"

// images (sharp / libvips)
export { encodePng, saveImage } from "./image/encode.js"
export { loadImage, loadImageGray } from "./image/load.js"
export type { ImageSource } from "./image/load.js"
export { pilResize, pixels8ToTensor, tensorToPixels8 } from "./image/pil-resize.js"
export type { PilFilter, Pixels8, ResampleFlavor, ResizeTarget } from "./image/pil-resize.js"
export { resizeImage } from "./image/resize.js"
export type { ResizeImageOptions } from "./image/resize.js"

// ndarray interop
export { fromNdarray, toNdarray } from "./ndarray.js"
export type { FromNdarrayOptions, NdarrayInput, NdarrayLike, NdarrayView } from "./ndarray.js"
