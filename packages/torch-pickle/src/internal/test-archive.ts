// Test helpers only: a tiny pickle assembler and a stored-zip writer, to build checkpoints the way torch.save
// lays them out (and broken ones) without Python.

/** Pickle bytes assembled from opcodes and arguments. */
export class PickleBuilder {
  readonly #parts: number[] = []

  op(code: number, ...bytes: number[]): this {
    this.#parts.push(code, ...bytes)
    return this
  }
  proto(n = 2): this {
    return this.op(0x80, n)
  }
  mark(): this {
    return this.op(0x28)
  }
  str(text: string): this {
    const bytes = new TextEncoder().encode(text)
    return this.op(0x58, ...u32(bytes.length), ...bytes)
  }
  int(n: number): this {
    return n >= 0 && n < 256 ? this.op(0x4b, n) : this.op(0x4a, ...i32(n))
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`))
  }
  tuple(): this {
    return this.op(0x74)
  }
  /** `('storage', torch.<type>, key, 'cpu', numel)` BINPERSID (legacy format: one more field, view_metadata None) */
  storage(type: string, key: string, numel: number, legacy = false): this {
    this.mark().str("storage").global("torch", type).str(key).str("cpu").int(numel)
    if (legacy) this.op(0x4e)
    return this.tuple().op(0x51)
  }
  /** `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())` */
  tensor(type: string, key: string, numel: number, offset: number, size: number[], stride: number[], legacy = false): this {
    this.global("torch._utils", "_rebuild_tensor_v2").mark()
    this.storage(type, key, numel, legacy).int(offset)
    this.mark()
    for (const d of size) this.int(d)
    this.tuple().mark()
    for (const s of stride) this.int(s)
    return this.tuple().op(0x89).global("collections", "OrderedDict").op(0x29).op(0x52).tuple().op(0x52)
  }
  stop(): Uint8Array {
    return Uint8Array.from([...this.#parts, 0x2e])
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.#parts)
  }
}

function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff]
}
function i32(n: number): number[] {
  return u32(n >>> 0)
}
function u16(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff]
}

function u64(n: number): number[] {
  return [...u32(n % 2 ** 32), ...u32(Math.floor(n / 2 ** 32))]
}

/**
 * A zip with the given records (stored, or flagged as deflated to test refusals); no CRCs (the reader does not
 * check them). With `zip64`, sizes, offsets and counts live only in zip64 extra fields and the zip64
 * end-of-central-directory record, as in archives past 4 GiB.
 */
export function zipArchive(records: ReadonlyArray<{ name: string; data: Uint8Array; method?: number }>, zip64 = false): Uint8Array {
  const chunks: number[] = []
  const central: number[] = []
  const FULL = 0xffffffff
  for (const { name, data, method = 0 } of records) {
    const nameBytes = [...new TextEncoder().encode(name)]
    const offset = chunks.length
    const extra = zip64 ? [...u16(0x0001), ...u16(24), ...u64(data.length), ...u64(data.length), ...u64(offset)] : []
    const size = zip64 ? FULL : data.length
    chunks.push(...u32(0x04034b50), ...u16(45), ...u16(0), ...u16(method), ...u16(0), ...u16(0), ...u32(0), ...u32(size), ...u32(size), ...u16(nameBytes.length), ...u16(0), ...nameBytes, ...data)
    central.push(...u32(0x02014b50), ...u16(45), ...u16(45), ...u16(0), ...u16(method), ...u16(0), ...u16(0), ...u32(0), ...u32(size), ...u32(size), ...u16(nameBytes.length), ...u16(extra.length), ...u16(0), ...u16(0), ...u16(0), ...u32(0), ...u32(zip64 ? FULL : offset), ...nameBytes, ...extra)
  }
  const directoryOffset = chunks.length
  chunks.push(...central)
  if (zip64) {
    const recordOffset = chunks.length
    chunks.push(...u32(0x06064b50), ...u64(44), ...u16(45), ...u16(45), ...u32(0), ...u32(0), ...u64(records.length), ...u64(records.length), ...u64(central.length), ...u64(directoryOffset))
    chunks.push(...u32(0x07064b50), ...u32(0), ...u64(recordOffset), ...u32(1))
    chunks.push(...u32(0x06054b50), ...u16(0xffff), ...u16(0xffff), ...u16(0xffff), ...u16(0xffff), ...u32(FULL), ...u32(FULL), ...u16(0))
  } else {
    chunks.push(...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(records.length), ...u16(records.length), ...u32(central.length), ...u32(directoryOffset), ...u16(0))
  }
  return Uint8Array.from(chunks)
}

/** Float32 little-endian bytes. */
export function f32Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer)
}
