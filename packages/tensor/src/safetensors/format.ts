// safetensors format: [u64 LE header length N][N bytes of JSON header][tensor bytes].
// Header: { "__metadata__"?: { [k]: string }, [name]: { dtype, shape, data_offsets: [begin, end] } },
// offsets relative to the first byte after the header. https://github.com/huggingface/safetensors
import type { DType } from "../tensor.js"

/** Bytes per element of every dtype the safetensors format names (unknown ones are `undefined`). */
export const SAFETENSORS_ITEM_SIZE: Readonly<Record<string, number>> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  F64: 8,
  I64: 8,
  U64: 8,
}

/** The tensor dtype each readable safetensors dtype becomes (BF16 widens to float32, BOOL is uint8, I8/I16/U16 widen to int32). */
export const SAFETENSORS_READ_DTYPE: Readonly<Record<string, DType>> = {
  F32: "float32",
  F16: "float16",
  BF16: "float32",
  F64: "float64",
  I32: "int32",
  I64: "int64",
  U8: "uint8",
  BOOL: "uint8",
  I8: "int32",
  I16: "int32",
  U16: "int32",
}

/** The safetensors dtype each tensor dtype is written as. */
export const SAFETENSORS_WRITE_DTYPE: Readonly<Record<DType, string>> = {
  float32: "F32",
  float16: "F16",
  float64: "F64",
  int32: "I32",
  int64: "I64",
  uint8: "U8",
}

/** One tensor entry of a parsed header. */
export interface SafetensorsEntry {
  readonly dtype: string
  readonly shape: readonly number[]
  /** Byte offsets relative to the start of the data section. */
  readonly begin: number
  readonly end: number
}

/** Largest header accepted (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000

/** safetensors data is little-endian; typed arrays use the host order. */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** Exact float32 -> bfloat16 bits, round-to-nearest-even (NaN stays a quiet NaN). */
export function floatToBFloat16Bits(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff
  const roundingBias = 0x7fff + ((bits >>> 16) & 1)
  return ((bits + roundingBias) >>> 16) & 0xffff
}
