// A `torch.save` checkpoint opened for weights-only reading. Reference: torch `serialization.py` `_load`
// (zip layout `<name>/data.pkl`, `<name>/data/<key>`, `<name>/byteorder`, `<name>/version`) and
// `_weights_only_unpickler.py` (what the pickle may contain).
import type { FileHandle } from "node:fs/promises"
import { open } from "node:fs/promises"
import type { Tensor } from "@pagkit/tensor"
import { TorchPickleError } from "./errors.js"
import { readAt } from "./internal/file-reader.js"
import { materializeView, viewSpan } from "./internal/materialize.js"
import { PickleTruncatedError, isTuple, makeTuple, runPickle, runPickleAt } from "./internal/pickle-machine.js"
import type { PickleKey } from "./internal/pickle-machine.js"
import { torchTable } from "./internal/torch-table.js"
import { entryDataOffset, readZipDirectory } from "./internal/zip-directory.js"
import type { ZipEntry } from "./internal/zip-directory.js"
import type { TorchStorageRef, TorchTensorRef } from "./torch-tensor-ref.js"
import { TORCH_DTYPE_SIZE, isTorchTensorRef } from "./torch-tensor-ref.js"

export type { PickleKey } from "./internal/pickle-machine.js"

/**
 * The data a weights-only pickle can hold: `None`, bools, numbers (ints beyond 2^53 as bigint), strings, bytes,
 * lists and tuples (arrays; tuples frozen), dicts and OrderedDicts (Maps, insertion-ordered) and tensor leaves.
 */
export type TorchData<Leaf> =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Leaf
  | readonly TorchData<Leaf>[]
  | ReadonlyMap<PickleKey, TorchData<Leaf>>

const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19] // PROTO 2, LONG1 magic

/**
 * A `torch.save` checkpoint, opened for weights-only reading: the zip format (torch ≥ 1.6) or the legacy format
 * (torch 0.4 – 1.5). `open` reads the container and runs the pickle (validating every global, call and storage
 * reference); no tensor byte is read until asked for, and then only that tensor's span of its storage record, with
 * a positional read.
 *
 * @example
 * const ckpt = await TorchCheckpoint.open("ip-adapter-plus_sdxl_vit-h.bin")
 * try {
 *   for (const [name, ref] of ckpt.tensors()) console.log(name, ref.dtype, ref.shape)
 *   const latents = await ckpt.readTensor(ckpt.tensors().get("image_proj.latents")!)
 * } finally {
 *   await ckpt.close()
 * }
 */
export class TorchCheckpoint {
  readonly path: string
  /** The unpickled object, tensors as {@link TorchTensorRef} leaves. */
  readonly root: TorchData<TorchTensorRef>
  /** `byteorder` record (absent in old files: little). */
  readonly byteOrder: "little" | "big"
  #handle: FileHandle | undefined
  readonly #dataOffsets: ReadonlyMap<string, number>

  private constructor(path: string, handle: FileHandle, root: TorchData<TorchTensorRef>, byteOrder: "little" | "big", dataOffsets: ReadonlyMap<string, number>) {
    this.path = path
    this.#handle = handle
    this.root = root
    this.byteOrder = byteOrder
    this.#dataOffsets = dataOffsets
  }

  /** Opens and validates a checkpoint; throws a {@link TorchPickleError} on anything not weights-only. */
  static async open(path: string): Promise<TorchCheckpoint> {
    let handle: FileHandle
    try {
      handle = await open(path, "r")
    } catch (cause) {
      throw new TorchPickleError("TORCH_PICKLE_IO", `cannot open "${path}": ${(cause as Error).message}. Check the path.`, { cause })
    }
    try {
      const { size } = await handle.stat()
      const { bytes: head } = await readAt(handle, 0, Math.min(size, 512))
      if (checkContainer(path, head) === "legacy") {
        const { root, dataOffsets } = await openLegacy(path, handle, size)
        return new TorchCheckpoint(path, handle, root, "little", dataOffsets)
      }
      const entries = await readZipDirectory(handle, size, path)
      const pickleEntry = findPickle(path, entries)
      const prefix = pickleEntry.name.slice(0, -"data.pkl".length)
      const pickleBytes = await readEntry(handle, pickleEntry, path)
      const byteOrderEntry = entries.get(`${prefix}byteorder`)
      const byteOrderText = byteOrderEntry === undefined ? "little" : new TextDecoder().decode(await readEntry(handle, byteOrderEntry, path)).trim()
      if (byteOrderText !== "little" && byteOrderText !== "big") {
        throw new TorchPickleError("TORCH_PICKLE_BAD_ARCHIVE", `"${path}": byteorder record says "${byteOrderText}"; expected "little" or "big".`)
      }
      // the whole pickle is validated (and every storage it names collected) before any storage is touched
      const storages = new Map<string, TorchStorageRef>()
      const root = runPickle(pickleBytes, torchTable({ source: path, storages }), path) as TorchData<TorchTensorRef>
      const dataOffsets = new Map<string, number>()
      for (const storage of storages.values()) {
        const entry = entries.get(`${prefix}data/${storage.key}`)
        if (entry === undefined) {
          throw new TorchPickleError("TORCH_PICKLE_BAD_ARCHIVE", `"${path}": the pickle names storage "${storage.key}" but the archive has no record ${prefix}data/${storage.key}. The file is truncated or corrupt; re-download it.`)
        }
        checkStored(path, entry)
        const needed = storage.numel * TORCH_DTYPE_SIZE[storage.dtype]
        if (entry.size < needed) {
          throw new TorchPickleError("TORCH_PICKLE_BAD_ARCHIVE", `"${path}": storage "${storage.key}" should hold ${storage.numel} × ${storage.dtype} (${needed} bytes) but its record has ${entry.size} bytes. Re-download the file.`)
        }
        const offset = await entryDataOffset(handle, entry, path)
        if (offset + entry.size > size) throw new TorchPickleError("TORCH_PICKLE_BAD_ARCHIVE", `"${path}": storage "${storage.key}" runs past the end of the file; it is truncated. Re-download it.`)
        dataOffsets.set(storage.key, offset)
      }
      return new TorchCheckpoint(path, handle, root, byteOrderText, dataOffsets)
    } catch (error) {
      await handle.close()
      throw error
    }
  }

  /** Every tensor under its flattened name (`image_proj.latents`), see {@link flattenStateDict}. */
  tensors(): Map<string, TorchTensorRef> {
    return flattenStateDict(this.root, isTorchTensorRef)
  }

  /** Reads one tensor: only the span of its storage the view touches, materialized dense and row-major. */
  async readTensor(ref: TorchTensorRef): Promise<Tensor> {
    const handle = this.#handle
    if (handle === undefined) throw new TorchPickleError("TORCH_PICKLE_IO", `"${this.path}" was closed; open it again to read tensors.`)
    const offset = this.#dataOffsets.get(ref.storage.key)
    if (offset === undefined) throw new TorchPickleError("TORCH_PICKLE_IO", `storage "${ref.storage.key}" does not belong to "${this.path}".`)
    const size = TORCH_DTYPE_SIZE[ref.dtype]
    const { start, end } = viewSpan(ref)
    const { bytes, got } = await readAt(handle, offset + start * size, (end - start) * size)
    if (got !== bytes.length) throw new TorchPickleError("TORCH_PICKLE_IO", `"${this.path}" is truncated: storage "${ref.storage.key}" could not be read. Re-download it.`)
    return materializeView(ref, bytes, this.byteOrder === "big")
  }

  /** The whole object with every tensor read (same nesting as {@link root}). */
  async readAll(): Promise<TorchData<Tensor>> {
    const read = async (value: TorchData<TorchTensorRef>): Promise<TorchData<Tensor>> => {
      if (isTorchTensorRef(value)) return this.readTensor(value)
      if (value instanceof Map) {
        const out = new Map<PickleKey, TorchData<Tensor>>()
        for (const [k, v] of value) out.set(k, await read(v))
        return out
      }
      if (Array.isArray(value)) {
        const items: TorchData<Tensor>[] = []
        for (const v of value as readonly TorchData<TorchTensorRef>[]) items.push(await read(v))
        return isTuple(value) ? (makeTuple(items) as readonly TorchData<Tensor>[]) : items
      }
      return value as TorchData<Tensor>
    }
    return read(this.root)
  }

  /** Closes the file; later reads throw. Safe to call twice. */
  async close(): Promise<void> {
    const handle = this.#handle
    this.#handle = undefined
    await handle?.close()
  }
}

/**
 * Flattens nested dicts (and lists/tuples, by index) to dotted names, keeping the leaves `isLeaf` accepts — the
 * flat `image_proj.latents` / `ip_adapter.1.to_k_ip.weight` layout a safetensors file of the same weights has.
 * Other leaves (numbers, strings: an `epoch`, a config) are skipped.
 *
 * @example
 * const flat = flattenStateDict(await readTorchCheckpoint("ip-adapter.bin"), (v): v is Tensor => v instanceof Tensor)
 */
export function flattenStateDict<Leaf>(root: TorchData<unknown>, isLeaf: (value: unknown) => value is Leaf, separator = "."): Map<string, Leaf> {
  const out = new Map<string, Leaf>()
  const walk = (value: unknown, prefix: string): void => {
    if (isLeaf(value)) {
      out.set(prefix, value)
      return
    }
    const join = (key: unknown): string => (prefix === "" ? String(key) : `${prefix}${separator}${String(key)}`)
    if (value instanceof Map) for (const [k, v] of value) walk(v, join(k))
    else if (Array.isArray(value)) value.forEach((v, i) => walk(v, join(i)))
  }
  walk(root, "")
  return out
}

/**
 * Reads a whole `torch.save` checkpoint weights-only: the nested object with {@link Tensor} leaves.
 *
 * @example
 * const root = await readTorchCheckpoint("ip-adapter-plus_sdxl_vit-h.bin") // Map { "image_proj" => Map, "ip_adapter" => Map }
 */
export async function readTorchCheckpoint(path: string): Promise<TorchData<Tensor>> {
  const ckpt = await TorchCheckpoint.open(path)
  try {
    return await ckpt.readAll()
  } finally {
    await ckpt.close()
  }
}

/**
 * Reads every tensor of a checkpoint under its flattened name, optionally only names `filter` accepts (the
 * others are never read).
 *
 * @example
 * const tensors = await readTorchStateDict("ip-adapter-plus_sdxl_vit-h.bin") // Map { "image_proj.latents" => Tensor, … }
 */
export async function readTorchStateDict(path: string, filter?: (name: string) => boolean): Promise<Map<string, Tensor>> {
  const ckpt = await TorchCheckpoint.open(path)
  try {
    const out = new Map<string, Tensor>()
    for (const [name, ref] of ckpt.tensors()) if (filter === undefined || filter(name)) out.set(name, await ckpt.readTensor(ref))
    return out
  } finally {
    await ckpt.close()
  }
}

function checkContainer(path: string, head: Uint8Array): "zip" | "legacy" {
  const isZip = head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04
  if (isZip) return "zip"
  if (LEGACY_MAGIC.every((b, i) => head[i] === b)) return "legacy"
  const ustar = new TextDecoder("latin1").decode(head.subarray(257, 262))
  if (ustar === "ustar") {
    throw new TorchPickleError("TORCH_PICKLE_LEGACY_FORMAT", `"${path}" is a tar-format torch checkpoint (torch < 0.4), which this reader does not read. Re-save it with a current torch, or convert it to safetensors.`)
  }
  throw new TorchPickleError(
    "TORCH_PICKLE_BAD_ARCHIVE",
    `"${path}" is not a torch.save checkpoint: expected a zip archive (starting "PK\\x03\\x04"), found bytes ${[...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ")}. Pass a .bin/.pt/.pth file written by torch.save.`,
  )
}

const LEGACY_MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn
const LEGACY_PROTOCOL_VERSION = 1001

/**
 * The legacy (torch 0.4 – 1.5, `_use_new_zipfile_serialization=False`) layout, torch `serialization.py`
 * `_legacy_load`: five pickles (magic number, protocol version 1001, sys_info, the object, the storage keys), then
 * per key in that order an int64 element count and the storage's bytes (always little-endian). Only the pickles are
 * read here; each record's count is read to find the next one.
 */
async function openLegacy(path: string, handle: FileHandle, size: number): Promise<{ root: TorchData<TorchTensorRef>; dataOffsets: Map<string, number> }> {
  const bad = (what: string): TorchPickleError =>
    new TorchPickleError("TORCH_PICKLE_LEGACY_FORMAT", `"${path}" starts like a legacy torch.save file but ${what}. Re-save it with a current torch, or re-download it.`)
  let chunk = Math.min(size, 1 << 20)
  let parsed: { root: unknown; keys: unknown; dataStart: number; storages: Map<string, TorchStorageRef> }
  for (;;) {
    const { bytes } = await readAt(handle, 0, chunk)
    const storages = new Map<string, TorchStorageRef>()
    const table = torchTable({ source: path, storages })
    try {
      const magic = runPickleAt(bytes, table, path, 0)
      if (magic.value !== LEGACY_MAGIC_NUMBER) throw bad("its magic number is wrong")
      const protocol = runPickleAt(bytes, table, path, magic.end)
      if (protocol.value !== LEGACY_PROTOCOL_VERSION) throw bad(`its protocol version is ${String(protocol.value)}, not ${LEGACY_PROTOCOL_VERSION}`)
      const sysInfo = runPickleAt(bytes, table, path, protocol.end)
      const main = runPickleAt(bytes, table, path, sysInfo.end)
      const keys = runPickleAt(bytes, table, path, main.end)
      parsed = { root: main.value, keys: keys.value, dataStart: keys.end, storages }
      break
    } catch (error) {
      // the pickles are longer than what was read: read more (they sit before every storage record)
      if (error instanceof PickleTruncatedError && chunk < size) {
        chunk = Math.min(size, chunk * 4)
        continue
      }
      throw error
    }
  }
  const { keys, storages } = parsed
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === "string")) throw bad("its storage key list is not a list of strings")
  const dataOffsets = new Map<string, number>()
  let at = parsed.dataStart
  for (const key of keys as string[]) {
    const storage = storages.get(key)
    if (storage === undefined) throw bad(`it lists storage "${key}" that its pickle never names`)
    const { bytes, got } = await readAt(handle, at, 8)
    if (got < 8) throw bad(`it is truncated before storage "${key}"`)
    const count = new DataView(bytes.buffer).getBigInt64(0, true)
    if (count !== BigInt(storage.numel)) throw bad(`storage "${key}" records ${count} elements where the pickle says ${storage.numel}`)
    dataOffsets.set(key, at + 8)
    at += 8 + storage.numel * TORCH_DTYPE_SIZE[storage.dtype]
    if (at > size) throw bad(`it is truncated inside storage "${key}"`)
  }
  for (const key of storages.keys()) if (!dataOffsets.has(key)) throw bad(`its pickle names storage "${key}", which has no record`)
  return { root: parsed.root as TorchData<TorchTensorRef>, dataOffsets }
}

function findPickle(path: string, entries: ReadonlyMap<string, ZipEntry>): ZipEntry {
  const candidates = [...entries.values()].filter((e) => /^[^/]+\/data\.pkl$/.test(e.name))
  if (candidates.length !== 1) {
    const names = [...entries.keys()].slice(0, 8).join(", ")
    throw new TorchPickleError(
      "TORCH_PICKLE_BAD_ARCHIVE",
      `"${path}" is a zip archive but not a torch.save checkpoint: expected one <name>/data.pkl record, found ${candidates.length} (records: ${names}${entries.size > 8 ? ", …" : ""}).`,
    )
  }
  return candidates[0]!
}

function checkStored(path: string, entry: ZipEntry): void {
  if (entry.encrypted) throw new TorchPickleError("TORCH_PICKLE_BAD_ARCHIVE", `"${path}": record "${entry.name}" is encrypted; torch.save never writes encrypted records.`)
  if (entry.method !== 0) {
    throw new TorchPickleError(
      "TORCH_PICKLE_COMPRESSED_STORAGE",
      `"${path}": record "${entry.name}" is compressed (zip method ${entry.method}); only stored (uncompressed) records are read, as torch.save writes them. ` +
        "The archive was re-zipped by another tool: re-save it with torch.save, or unzip and re-zip with `zip -0`.",
    )
  }
}

async function readEntry(handle: FileHandle, entry: ZipEntry, path: string): Promise<Uint8Array> {
  checkStored(path, entry)
  const offset = await entryDataOffset(handle, entry, path)
  const { bytes, got } = await readAt(handle, offset, entry.size)
  if (got !== entry.size) throw new TorchPickleError("TORCH_PICKLE_BAD_ARCHIVE", `"${path}": record "${entry.name}" is truncated. Re-download the file.`)
  return bytes
}
