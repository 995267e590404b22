// The zip container `torch.save` writes (PyTorch's `PyTorchStreamWriter`, miniz underneath): every record is
// stored uncompressed and 64-byte aligned, zip64 fields once the file passes 4 GiB. Only the central directory and
// the local headers are read here; record bytes are read later, positionally, by whoever needs them.
// Reference: PKWARE APPNOTE.TXT §4.3 (end of central directory, zip64 locator/record, central file header,
// local file header, zip64 extended information extra field 0x0001).
import type { FileHandle } from "node:fs/promises"
import { TorchPickleError } from "../errors.js"
import { readAt } from "./file-reader.js"

/** One record of the archive's central directory. */
export interface ZipEntry {
  readonly name: string
  /** 0 = stored; anything else is compressed. */
  readonly method: number
  readonly size: number
  readonly compressedSize: number
  readonly localHeaderOffset: number
  readonly encrypted: boolean
}

const EOCD_SIGNATURE = 0x06054b50
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50
const ZIP64_EOCD_SIGNATURE = 0x06064b50
const CENTRAL_SIGNATURE = 0x02014b50
const LOCAL_SIGNATURE = 0x04034b50
const EOCD_MIN = 22
const MAX_COMMENT = 0xffff

function u64(view: DataView, at: number, path: string): number {
  const value = view.getBigUint64(at, true)
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new TorchPickleError("TORCH_PICKLE_BAD_ARCHIVE", `"${path}": a zip64 field holds ${value}, past 2^53; the archive is corrupt.`)
  }
  return Number(value)
}

function bad(path: string, what: string): TorchPickleError {
  return new TorchPickleError(
    "TORCH_PICKLE_BAD_ARCHIVE",
    `"${path}" is not a readable torch.save zip archive: ${what}. Re-download the file, or re-save it with torch.save.`,
  )
}

/** Reads the central directory of a zip file into a map from entry name to entry. */
export async function readZipDirectory(handle: FileHandle, fileSize: number, path: string): Promise<Map<string, ZipEntry>> {
  const tailLength = Math.min(fileSize, EOCD_MIN + MAX_COMMENT)
  const tailStart = fileSize - tailLength
  const { bytes: tail } = await readAt(handle, tailStart, tailLength)
  const tailView = new DataView(tail.buffer)
  let eocd = -1
  for (let i = tailLength - EOCD_MIN; i >= 0; i--) {
    if (tailView.getUint32(i, true) === EOCD_SIGNATURE) {
      eocd = i
      break
    }
  }
  if (eocd < 0) throw bad(path, "no end-of-central-directory record")
  let entryCount = tailView.getUint16(eocd + 10, true)
  let directorySize = tailView.getUint32(eocd + 12, true)
  let directoryOffset = tailView.getUint32(eocd + 16, true)
  if (entryCount === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    const locator = eocd - 20
    if (locator < 0 || tailView.getUint32(locator, true) !== ZIP64_LOCATOR_SIGNATURE) throw bad(path, "zip64 fields without a zip64 locator")
    const recordOffset = u64(tailView, locator + 8, path)
    const { bytes: record, got } = await readAt(handle, recordOffset, 56)
    const view = new DataView(record.buffer)
    if (got < 56 || view.getUint32(0, true) !== ZIP64_EOCD_SIGNATURE) throw bad(path, "the zip64 end-of-central-directory record is missing")
    entryCount = u64(view, 32, path)
    directorySize = u64(view, 40, path)
    directoryOffset = u64(view, 48, path)
  }
  if (directoryOffset + directorySize > fileSize) throw bad(path, `the central directory (${directorySize} bytes at ${directoryOffset}) runs past the end of the ${fileSize}-byte file`)
  const { bytes: directory } = await readAt(handle, directoryOffset, directorySize)
  const view = new DataView(directory.buffer)
  const decoder = new TextDecoder("utf-8", { fatal: false })
  const entries = new Map<string, ZipEntry>()
  let at = 0
  for (let n = 0; n < entryCount; n++) {
    if (at + 46 > directorySize || view.getUint32(at, true) !== CENTRAL_SIGNATURE) throw bad(path, `central directory entry ${n} is malformed`)
    const flags = view.getUint16(at + 8, true)
    const method = view.getUint16(at + 10, true)
    let compressedSize = view.getUint32(at + 20, true)
    let size = view.getUint32(at + 24, true)
    const nameLength = view.getUint16(at + 28, true)
    const extraLength = view.getUint16(at + 30, true)
    const commentLength = view.getUint16(at + 32, true)
    let localHeaderOffset = view.getUint32(at + 42, true)
    if (at + 46 + nameLength + extraLength > directorySize) throw bad(path, `central directory entry ${n} runs past the directory`)
    const name = decoder.decode(directory.subarray(at + 46, at + 46 + nameLength))
    // zip64 extended information: the 0xFFFFFFFF fields, in this order
    let extra = at + 46 + nameLength
    const extraEnd = extra + extraLength
    while (extra + 4 <= extraEnd) {
      const id = view.getUint16(extra, true)
      const length = view.getUint16(extra + 2, true)
      if (id === 0x0001) {
        let field = extra + 4
        const next = (): number => {
          if (field + 8 > extra + 4 + length) throw bad(path, `the zip64 extra field of "${name}" is too short`)
          const value = u64(view, field, path)
          field += 8
          return value
        }
        if (size === 0xffffffff) size = next()
        if (compressedSize === 0xffffffff) compressedSize = next()
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next()
      }
      extra += 4 + length
    }
    entries.set(name, { name, method, size, compressedSize, localHeaderOffset, encrypted: (flags & 1) !== 0 })
    at += 46 + nameLength + extraLength + commentLength
  }
  return entries
}

/** File offset of an entry's bytes (after its local header). */
export async function entryDataOffset(handle: FileHandle, entry: ZipEntry, path: string): Promise<number> {
  const { bytes, got } = await readAt(handle, entry.localHeaderOffset, 30)
  const view = new DataView(bytes.buffer)
  if (got < 30 || view.getUint32(0, true) !== LOCAL_SIGNATURE) throw bad(path, `the local header of "${entry.name}" is missing`)
  return entry.localHeaderOffset + 30 + view.getUint16(26, true) + view.getUint16(28, true)
}
