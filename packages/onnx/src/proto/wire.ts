// Protocol-buffers wire format: a reader that hands out slices (no copies) and a writer that
// collects chunks. Only what the ONNX codec needs: varints, length-delimited fields, skipping.
import { OnnxProtoError } from "../errors.js"

/** Wire types of the protobuf encoding. */
export const WIRE_VARINT = 0
export const WIRE_I64 = 1
export const WIRE_LEN = 2
export const WIRE_I32 = 5

/** One field as it sits in the buffer: number, wire type, the whole field's bytes and its value's bytes. */
export interface RawField {
  readonly no: number
  readonly wireType: number
  /** Tag + value, verbatim (a view into the source buffer). */
  readonly bytes: Uint8Array
  /** The value: varint bytes, fixed bytes, or the content of a length-delimited field. */
  readonly payload: Uint8Array
}

/** Iterates the fields of one message, as views into `buffer`. Throws {@link OnnxProtoError} on malformed input. */
export function* readFields(buffer: Uint8Array, what: string): Generator<RawField> {
  let pos = 0
  const end = buffer.length
  const fail = (why: string): never => {
    throw new OnnxProtoError(
      `malformed ${what} at byte ${pos} of ${end}: ${why}. The file is not an ONNX model or is truncated; re-export or re-download it.`,
    )
  }
  const varint = (): number => {
    let result = 0
    let scale = 1
    for (let i = 0; i < 10; i++) {
      if (pos >= end) fail("varint runs past the end")
      const byte = buffer[pos++]!
      result += (byte & 0x7f) * scale
      if ((byte & 0x80) === 0) return result
      scale *= 128
    }
    return fail("varint longer than 10 bytes")
  }
  while (pos < end) {
    const start = pos
    const tag = varint()
    const no = Math.floor(tag / 8)
    const wireType = tag % 8
    if (no === 0) fail("field number 0")
    let valueStart = pos
    let valueEnd: number
    switch (wireType) {
      case WIRE_VARINT:
        varint()
        valueEnd = pos
        break
      case WIRE_I64:
        valueEnd = pos + 8
        break
      case WIRE_I32:
        valueEnd = pos + 4
        break
      case WIRE_LEN: {
        const length = varint()
        valueStart = pos
        valueEnd = pos + length
        break
      }
      default:
        return fail(`unsupported wire type ${wireType} (field ${no})`)
    }
    if (valueEnd > end) fail(`field ${no} needs ${valueEnd - valueStart} bytes, only ${end - valueStart} remain`)
    pos = valueEnd
    yield { no, wireType, bytes: buffer.subarray(start, valueEnd), payload: buffer.subarray(valueStart, valueEnd) }
  }
}

/** Value of a varint payload as a number (int64 two's complement handled; exact up to 2^53). */
export function varintValue(payload: Uint8Array): number {
  let lo = 0
  let hi = 0
  for (let i = 0; i < payload.length; i++) {
    const bits = payload[i]! & 0x7f
    const shift = 7 * i
    if (shift < 28) lo += bits * 2 ** shift
    else if (shift === 28) {
      lo += (bits & 0x0f) * 2 ** 28
      hi += bits >>> 4
    } else hi += bits * 2 ** (shift - 32)
  }
  hi %= 2 ** 32
  return hi >= 2 ** 31 ? (hi - 2 ** 32) * 2 ** 32 + lo : hi * 2 ** 32 + lo
}

const textDecoder = new TextDecoder("utf-8", { fatal: false })
const textEncoder = new TextEncoder()

/** A UTF-8 string payload. */
export function stringValue(payload: Uint8Array): string {
  return textDecoder.decode(payload)
}

/** Bytes of a varint (int64 two's complement for negatives, as protobuf writes int32/int64). */
export function encodeVarint(value: number): Uint8Array {
  if (!Number.isInteger(value)) throw new OnnxProtoError(`cannot encode ${value} as a varint: expected an integer.`)
  let v = BigInt.asUintN(64, BigInt(value))
  const out: number[] = []
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80)
    v >>= 7n
  }
  out.push(Number(v))
  return Uint8Array.from(out)
}

/**
 * Collects encoded chunks without copying them; `finish` concatenates once.
 * Nested messages are written with {@link ProtoWriter.message}, which measures the child first.
 */
export class ProtoWriter {
  readonly chunks: Uint8Array[] = []
  length = 0

  /** Appends bytes verbatim (e.g. a {@link RawField}'s `bytes`). */
  raw(bytes: Uint8Array): this {
    this.chunks.push(bytes)
    this.length += bytes.length
    return this
  }

  /** A varint field. */
  varint(no: number, value: number): this {
    return this.raw(encodeVarint(no * 8 + WIRE_VARINT)).raw(encodeVarint(value))
  }

  /** A length-delimited field holding bytes. */
  bytes(no: number, value: Uint8Array): this {
    return this.raw(encodeVarint(no * 8 + WIRE_LEN)).raw(encodeVarint(value.length)).raw(value)
  }

  /** A length-delimited field holding a UTF-8 string. */
  string(no: number, value: string): this {
    return this.bytes(no, textEncoder.encode(value))
  }

  /** A length-delimited field holding a nested message written by `write`. */
  message(no: number, write: (child: ProtoWriter) => void): this {
    const child = new ProtoWriter()
    write(child)
    this.raw(encodeVarint(no * 8 + WIRE_LEN)).raw(encodeVarint(child.length))
    for (const chunk of child.chunks) this.raw(chunk)
    return this
  }

  /** All chunks in one buffer. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.length)
    let offset = 0
    for (const chunk of this.chunks) {
      out.set(chunk, offset)
      offset += chunk.length
    }
    return out
  }
}
