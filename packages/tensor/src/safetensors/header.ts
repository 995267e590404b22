import { SafetensorsError } from "../errors.js"
import { shapeSize } from "../tensor.js"
import type { SafetensorsEntry } from "./format.js"
import { MAX_HEADER_BYTES, SAFETENSORS_ITEM_SIZE } from "./format.js"

/** A validated safetensors header. */
export interface SafetensorsHeader {
  readonly metadata: Readonly<Record<string, string>>
  /** Entries in header order. */
  readonly entries: ReadonlyMap<string, SafetensorsEntry>
  /** Byte position of the data section in the file (8 + header length). */
  readonly dataStart: number
}

function corrupt(file: string, problem: string): SafetensorsError {
  return new SafetensorsError(
    "SAFETENSORS_CORRUPT",
    `${file} is not a valid safetensors file: ${problem}. Re-download or re-export the file.`,
  )
}

/**
 * Reads the 8-byte header length prefix and checks it against the file size.
 * Returns the JSON header length.
 */
export function parseHeaderLength(file: string, prefix: Uint8Array, fileSize: number): number {
  if (fileSize < 8 || prefix.length < 8) {
    throw corrupt(file, `expected at least 8 bytes (header length), found ${fileSize}`)
  }
  const length = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true)
  if (length > BigInt(fileSize - 8)) {
    throw corrupt(file, `header length ${length} runs past the end of the file (${fileSize} bytes)`)
  }
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw corrupt(file, `header length ${length} is above the ${MAX_HEADER_BYTES}-byte limit`)
  }
  return Number(length)
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0
}

/** Parses and validates the JSON header: dtypes are strings, shapes integers, offsets inside the data section. */
export function parseHeader(file: string, json: Uint8Array, fileSize: number): SafetensorsHeader {
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(json))
  } catch (cause) {
    throw new SafetensorsError(
      "SAFETENSORS_CORRUPT",
      `${file} is not a valid safetensors file: its header is not UTF-8 JSON (${String(cause)}). Re-download or re-export the file.`,
      { cause },
    )
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw corrupt(file, "the header is not a JSON object")
  }
  const dataStart = 8 + json.length
  const dataSize = fileSize - dataStart
  const metadata: Record<string, string> = {}
  const entries = new Map<string, SafetensorsEntry>()
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw corrupt(file, "__metadata__ is not an object")
      for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
        metadata[key] = typeof value === "string" ? value : JSON.stringify(value)
      }
      continue
    }
    entries.set(name, parseEntry(file, name, raw, dataSize))
  }
  return { metadata: Object.freeze(metadata), entries, dataStart }
}

function parseEntry(file: string, name: string, raw: unknown, dataSize: number): SafetensorsEntry {
  if (typeof raw !== "object" || raw === null) throw corrupt(file, `entry "${name}" is not an object`)
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>
  if (typeof dtype !== "string") throw corrupt(file, `entry "${name}" has no string dtype`)
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
    throw corrupt(file, `entry "${name}" has shape ${JSON.stringify(shape)}, expected an array of non-negative integers`)
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger)) {
    throw corrupt(file, `entry "${name}" has data_offsets ${JSON.stringify(offsets)}, expected [begin, end]`)
  }
  const [begin, end] = offsets as [number, number]
  if (begin > end || end > dataSize) {
    throw corrupt(file, `entry "${name}" spans bytes [${begin}, ${end}) but the data section has ${dataSize} bytes`)
  }
  const itemSize = SAFETENSORS_ITEM_SIZE[dtype]
  if (itemSize !== undefined && end - begin !== shapeSize(shape) * itemSize) {
    throw corrupt(
      file,
      `entry "${name}" (${dtype} [${shape.join(", ")}]) needs ${shapeSize(shape) * itemSize} bytes but spans ${end - begin}`,
    )
  }
  return { dtype, shape: Object.freeze([...(shape as number[])]), begin, end }
}
