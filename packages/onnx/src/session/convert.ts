import * as ort from "onnxruntime-node"
import { Tensor, shapeSize, toDType, toFloat32 } from "@pagkit/tensor"
import type { DType, Shape } from "@pagkit/tensor"
import { InputError } from "../errors.js"
import { describeIo } from "./io-info.js"
import type { ElementType, IoInfo } from "./io-info.js"

const pagkitTypes = new Set<string>(["float32", "float16", "float64", "int32", "int64", "uint8"])

/**
 * Converts a feed's values to the element type the model declares.
 * Float -> integer truncates toward zero (numpy's `astype`, which Optimum's pipelines use for timesteps).
 */
function convertData(tensor: Tensor, target: ElementType, input: string): ort.Tensor["data"] {
  if (pagkitTypes.has(target)) return toDType(tensor, target as DType).data as ort.Tensor["data"]
  if (target === "bool") {
    const values = toFloat32(tensor).data
    return Uint8Array.from(values, (v) => (v !== 0 ? 1 : 0))
  }
  throw new InputError(
    "ONNX_INPUT_INVALID",
    input,
    `input "${input}" has element type ${target}, which pagkit cannot feed from a ${tensor.dtype} tensor. Feed float32, float16, float64, int32, int64, uint8 or bool inputs.`,
  )
}

/**
 * Reconciles a feed's shape with the declared one: rank-0 <-> rank-1 for single values
 * (timesteps are `[]` in some exports and `[1]` in others); fixed dimensions must agree.
 */
function fitShape(tensor: Tensor, info: IoInfo): Shape {
  const declared = info.shape
  let shape: Shape = tensor.shape
  if (declared.length === 0 && shape.length === 1 && shape[0] === 1) shape = []
  else if (declared.length === 1 && shape.length === 0) shape = [1]
  const problem = (what: string): InputError =>
    new InputError(
      "ONNX_INPUT_INVALID",
      info.name,
      `input "${info.name}": expected ${describeIo(info)}, found ${tensor.describe()} (${what}). Pass a tensor of the declared rank and fixed sizes.`,
    )
  if (declared.length !== shape.length) throw problem(`rank ${tensor.rank} instead of ${declared.length}`)
  declared.forEach((d, axis) => {
    if (typeof d === "number" && d >= 0 && shape[axis] !== d) throw problem(`axis ${axis} is ${shape[axis]} instead of ${d}`)
  })
  return shape
}

/** Converts a pagkit tensor to the onnxruntime tensor the model input expects (dtype and rank). */
export function toOrtFeed(tensor: Tensor, info: IoInfo): ort.Tensor {
  const target = info.dtype
  if (target === undefined) {
    throw new InputError(
      "ONNX_INPUT_INVALID",
      info.name,
      `input "${info.name}" is not a tensor input; pagkit only feeds tensors. Use an export whose inputs are tensors.`,
    )
  }
  const shape = fitShape(tensor, info)
  const data = convertData(tensor, target, info.name)
  return new ort.Tensor(target, data, shape)
}

/** Options for {@link fromOrtTensor}. */
export interface OutputConversion {
  /** Keep float16 outputs as half bit patterns instead of converting them to float32. */
  readonly keepFloat16?: boolean
}

/** Converts an onnxruntime output to a pagkit tensor (float16 -> float32 unless kept; bool -> uint8). */
export function fromOrtTensor(value: ort.Tensor, name: string, options: OutputConversion = {}): Tensor {
  const shape = value.dims
  const data = value.data
  switch (value.type) {
    case "float32":
      return new Tensor("float32", data as Float32Array, shape)
    case "float64":
      return new Tensor("float64", data as Float64Array, shape)
    case "float16": {
      // onnxruntime gives a Float16Array where the runtime has one: view the same bytes (offset and length kept)
      const view = data as ArrayBufferView
      const bits = data instanceof Uint16Array ? data : new Uint16Array(view.buffer, view.byteOffset, view.byteLength / 2)
      const half = new Tensor("float16", bits, shape)
      return options.keepFloat16 === true ? half : toFloat32(half)
    }
    case "int32":
      return new Tensor("int32", data as Int32Array, shape)
    case "int64":
      return new Tensor("int64", data as BigInt64Array, shape)
    case "uint8":
    case "bool":
      return new Tensor("uint8", Uint8Array.from(data as ArrayLike<number>), shape)
    case "int8":
    case "int16":
    case "uint16":
    case "uint32":
      return new Tensor("int32", Int32Array.from(data as ArrayLike<number>), shape)
    default:
      throw new InputError(
        "ONNX_INPUT_INVALID",
        name,
        `output "${name}" has element type ${value.type}, which pagkit cannot represent; expected a numeric tensor (${shapeSize(shape)} elements).`,
      )
  }
}
