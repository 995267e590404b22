import { open } from "node:fs/promises"
import { SafetensorsError } from "../errors.js"
import type { Tensor } from "../tensor.js"
import { HOST_IS_LITTLE_ENDIAN, SAFETENSORS_ITEM_SIZE, SAFETENSORS_WRITE_DTYPE, floatToBFloat16Bits } from "./format.js"

/** Options of {@link encodeSafetensors} and {@link writeSafetensors}. */
export interface SafetensorsWriteOptions {
  /** Store every float32 tensor as BF16 (round-to-nearest-even). Default false. */
  readonly bfloat16?: boolean
}

interface PlannedTensor {
  readonly name: string
  readonly dtype: string
  readonly bytes: Uint8Array
}

/** Header bytes (length prefix + space-padded JSON) and the tensor byte chunks that follow, in order. */
interface Layout {
  readonly header: Uint8Array
  readonly chunks: readonly Uint8Array[]
  readonly byteLength: number
}

function tensorBytes(tensor: Tensor, bfloat16: boolean): { dtype: string; bytes: Uint8Array } {
  const data = tensor.data
  if (bfloat16 && tensor.dtype === "float32") {
    const bits = new Uint32Array(data.buffer, data.byteOffset, data.length)
    const halves = new Uint16Array(data.length)
    for (let i = 0; i < halves.length; i++) halves[i] = floatToBFloat16Bits(bits[i]!)
    return { dtype: "BF16", bytes: new Uint8Array(halves.buffer) }
  }
  return { dtype: SAFETENSORS_WRITE_DTYPE[tensor.dtype], bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) }
}

// Same layout as the reference writer (safetensors `prepare`): tensors sorted by element size
// (largest first, so every tensor is aligned) then by name; header padded with spaces to 8 bytes.
function plan(tensors: Record<string, Tensor>, metadata: Record<string, string> | undefined, options: SafetensorsWriteOptions): Layout {
  if (!HOST_IS_LITTLE_ENDIAN) {
    throw new SafetensorsError("SAFETENSORS_INVALID_INPUT", "writing safetensors needs a little-endian host.")
  }
  const planned: PlannedTensor[] = Object.entries(tensors).map(([name, tensor]) => {
    if (name === "__metadata__") {
      throw new SafetensorsError("SAFETENSORS_INVALID_INPUT", `"__metadata__" is reserved; rename that tensor.`)
    }
    return { name, ...tensorBytes(tensor, options.bfloat16 === true) }
  })
  planned.sort((a, b) => {
    const bySize = SAFETENSORS_ITEM_SIZE[b.dtype]! - SAFETENSORS_ITEM_SIZE[a.dtype]!
    return bySize !== 0 ? bySize : a.name < b.name ? -1 : a.name > b.name ? 1 : 0
  })
  const header: Record<string, unknown> = {}
  if (metadata !== undefined) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== "string") {
        throw new SafetensorsError(
          "SAFETENSORS_INVALID_INPUT",
          `metadata "${key}" is a ${typeof value}; safetensors metadata values must be strings. Use JSON.stringify.`,
        )
      }
    }
    header["__metadata__"] = metadata
  }
  let offset = 0
  for (const { name, dtype, bytes } of planned) {
    const tensor = tensors[name]!
    header[name] = { dtype, shape: [...tensor.shape], data_offsets: [offset, offset + bytes.length] }
    offset += bytes.length
  }
  const json = new TextEncoder().encode(JSON.stringify(header))
  const padded = Math.ceil(json.length / 8) * 8
  const headerBytes = new Uint8Array(8 + padded).fill(0x20)
  new DataView(headerBytes.buffer).setBigUint64(0, BigInt(padded), true)
  headerBytes.set(json, 8)
  return { header: headerBytes, chunks: planned.map((p) => p.bytes), byteLength: headerBytes.length + offset }
}

/**
 * Serialises tensors (and optional string metadata) to safetensors bytes, laid out like the
 * reference Python writer. float16 tensors are stored as F16, uint8 as U8, int64 as I64.
 *
 * @example
 * const bytes = encodeSafetensors({ x: Tensor.fromArray([1, 2]) }, { format: "pt" })
 */
export function encodeSafetensors(
  tensors: Record<string, Tensor>,
  metadata?: Record<string, string>,
  options: SafetensorsWriteOptions = {},
): Uint8Array {
  const layout = plan(tensors, metadata, options)
  const out = new Uint8Array(layout.byteLength)
  out.set(layout.header, 0)
  let position = layout.header.length
  for (const chunk of layout.chunks) {
    out.set(chunk, position)
    position += chunk.length
  }
  return out
}

/**
 * Writes tensors to a safetensors file, streaming each tensor's bytes (no full in-memory copy).
 * For BF16 storage, write `encodeSafetensors(tensors, metadata, { bfloat16: true })` yourself.
 */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, Tensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  const layout = plan(tensors, metadata, {})
  let handle
  try {
    handle = await open(path, "w")
  } catch (cause) {
    throw new SafetensorsError(
      "SAFETENSORS_INVALID_INPUT",
      `cannot write safetensors file ${path}: ${(cause as Error).message}. Check that the folder exists and is writable.`,
      { cause },
    )
  }
  try {
    await handle.write(layout.header)
    for (const chunk of layout.chunks) await handle.write(chunk)
  } finally {
    await handle.close()
  }
}
