import type { FileHandle } from "node:fs/promises"
import { open } from "node:fs/promises"
import { SafetensorsError } from "../errors.js"
import { toFloat32 } from "../ops/cast.js"
import type { DType, Tensor } from "../tensor.js"
import { allocate, shapeSize, Tensor as TensorClass } from "../tensor.js"
import type { SafetensorsEntry } from "./format.js"
import { HOST_IS_LITTLE_ENDIAN, SAFETENSORS_READ_DTYPE } from "./format.js"
import type { SafetensorsHeader } from "./header.js"
import { parseHeader, parseHeaderLength } from "./header.js"

/** What {@link SafetensorsFile.info} reports about one tensor, without reading it. */
export interface SafetensorsTensorInfo {
  /** The dtype as stored in the file (`"F32"`, `"BF16"`, …). */
  dtype: string
  shape: number[]
  byteLength: number
}

async function readExactly(handle: FileHandle, target: Uint8Array, position: number): Promise<number> {
  let done = 0
  while (done < target.length) {
    const { bytesRead } = await handle.read(target, done, target.length - done, position + done)
    if (bytesRead === 0) break
    done += bytesRead
  }
  return done
}

/**
 * A safetensors file opened for reading: the header is parsed once, each tensor is read on demand
 * with a positional read of its own bytes (a multi-GB file is never loaded whole).
 *
 * @example
 * const file = await SafetensorsFile.open("weights.safetensors")
 * try {
 *   const weight = await file.read("proj.weight") // Tensor
 * } finally {
 *   await file.close()
 * }
 */
export class SafetensorsFile {
  readonly path: string
  /** `__metadata__` of the header (`{}` if absent). */
  readonly metadata: Readonly<Record<string, string>>
  /** Tensor names in header order. */
  readonly names: readonly string[]
  readonly #entries: ReadonlyMap<string, SafetensorsEntry>
  readonly #dataStart: number
  #handle: FileHandle | undefined

  private constructor(path: string, handle: FileHandle, header: SafetensorsHeader) {
    this.path = path
    this.metadata = header.metadata
    this.names = Object.freeze([...header.entries.keys()])
    this.#entries = header.entries
    this.#dataStart = header.dataStart
    this.#handle = handle
  }

  /** Opens a file and parses its header; throws {@link SafetensorsError} if missing or malformed. */
  static async open(path: string): Promise<SafetensorsFile> {
    let handle: FileHandle
    try {
      handle = await open(path, "r")
    } catch (cause) {
      throw new SafetensorsError(
        "SAFETENSORS_NOT_FOUND",
        `cannot open safetensors file ${path}: ${(cause as Error).message}. Check the path and its permissions.`,
        { cause },
      )
    }
    try {
      const { size } = await handle.stat()
      const prefix = new Uint8Array(8)
      await readExactly(handle, prefix, 0)
      try {
        const headerLength = parseHeaderLength(path, prefix, size)
        const json = new Uint8Array(headerLength)
        await readExactly(handle, json, 8)
        return new SafetensorsFile(path, handle, parseHeader(path, json, size))
      } catch (error) {
        // Only a file that does not parse is looked at more closely: a valid header may start with any bytes.
        const otherFormat = await recognizeOtherFormat(handle, prefix, size)
        if (otherFormat !== undefined) {
          throw new SafetensorsError("SAFETENSORS_WRONG_FORMAT", `${path} is not a safetensors file: ${otherFormat}.`, { cause: error })
        }
        throw error
      }
    } catch (error) {
      await handle.close()
      if (error instanceof SafetensorsError) throw error
      throw new SafetensorsError(
        "SAFETENSORS_CORRUPT",
        `cannot read the safetensors header of ${path}: ${(error as Error).message}. Pass a safetensors file, not a folder.`,
        { cause: error },
      )
    }
  }

  /** True when the file holds a tensor of that name. */
  has(name: string): boolean {
    return this.#entries.has(name)
  }

  /** Dtype, shape and size of a tensor; throws a {@link SafetensorsError} naming the available keys if absent. */
  info(name: string): SafetensorsTensorInfo {
    const entry = this.#entry(name)
    return { dtype: entry.dtype, shape: [...entry.shape], byteLength: entry.end - entry.begin }
  }

  /** The raw little-endian bytes of a tensor, as stored. */
  async readBytes(name: string): Promise<Uint8Array> {
    const entry = this.#entry(name)
    const handle = this.#handle
    if (handle === undefined) {
      throw new SafetensorsError("SAFETENSORS_CLOSED", `${this.path} was closed; open it again to read "${name}".`)
    }
    const bytes = new Uint8Array(entry.end - entry.begin)
    const got = await readExactly(handle, bytes, this.#dataStart + entry.begin)
    if (got !== bytes.length) {
      throw new SafetensorsError(
        "SAFETENSORS_CORRUPT",
        `${this.path} is truncated: tensor "${name}" needs ${bytes.length} bytes, only ${got} could be read. Re-download the file.`,
      )
    }
    return bytes
  }

  /**
   * Reads one tensor. F32/F16/F64/I32/I64/U8 keep their dtype (F16 as float16 bits), BF16 becomes float32,
   * BOOL becomes uint8, I8/I16/U16 widen to int32.
   */
  async read(name: string): Promise<Tensor> {
    const entry = this.#entry(name)
    const dtype = SAFETENSORS_READ_DTYPE[entry.dtype]
    if (dtype === undefined) {
      throw new SafetensorsError(
        "SAFETENSORS_UNSUPPORTED_DTYPE",
        `tensor "${name}" of ${this.path} has dtype ${entry.dtype}, which @pagkit/tensor cannot hold. ` +
          `Supported: ${Object.keys(SAFETENSORS_READ_DTYPE).join(", ")}; convert the file (e.g. to F32) first.`,
      )
    }
    if (!HOST_IS_LITTLE_ENDIAN) {
      throw new SafetensorsError("SAFETENSORS_INVALID_INPUT", `reading ${this.path} needs a little-endian host.`)
    }
    const bytes = await this.readBytes(name)
    return decodeTensor(entry.dtype, dtype, bytes, entry.shape)
  }

  /** Reads one tensor converted to float32 (F16, BF16, F64 and integers decoded), the form most numerics want. */
  async readFloat32(name: string): Promise<Tensor<"float32">> {
    return toFloat32(await this.read(name))
  }

  /** Closes the file handle; later reads throw. Safe to call twice. */
  async close(): Promise<void> {
    const handle = this.#handle
    this.#handle = undefined
    await handle?.close()
  }

  #entry(name: string): SafetensorsEntry {
    const entry = this.#entries.get(name)
    if (entry === undefined) {
      const shown = this.names.slice(0, 20).join(", ")
      const more = this.names.length > 20 ? `, … (${this.names.length} in all)` : ""
      throw new SafetensorsError(
        "SAFETENSORS_MISSING_TENSOR",
        `${this.path} has no tensor "${name}". Available: ${shown || "(none)"}${more}. Check the key name.`,
      )
    }
    return entry
  }
}

/** Turns the stored bytes (a fresh, aligned buffer) into a tensor. */
function decodeTensor(stored: string, dtype: DType, bytes: Uint8Array, shape: readonly number[]): Tensor {
  const n = shapeSize(shape)
  const buffer = bytes.buffer as ArrayBuffer
  switch (stored) {
    case "BF16": {
      const halves = new Uint16Array(buffer, bytes.byteOffset, n)
      const bits = new Uint32Array(n)
      for (let i = 0; i < n; i++) bits[i] = halves[i]! << 16
      return new TensorClass("float32", new Float32Array(bits.buffer), shape)
    }
    case "I8":
    case "I16":
    case "U16": {
      const source =
        stored === "I8" ? new Int8Array(buffer, bytes.byteOffset, n)
        : stored === "I16" ? new Int16Array(buffer, bytes.byteOffset, n)
        : new Uint16Array(buffer, bytes.byteOffset, n)
      return new TensorClass("int32", Int32Array.from(source), shape)
    }
    default: {
      const data = allocate(dtype, 0)
      const Ctor = data.constructor as new (buffer: ArrayBuffer, offset: number, length: number) => typeof data
      return new TensorClass(dtype, new Ctor(buffer, bytes.byteOffset, n), shape)
    }
  }
}

/**
 * Reads all tensors of a file, or only `names` (throws if one is missing), into a map in header order.
 *
 * @example
 * const tensors = await readSafetensors("oracle.safetensors", ["x.init"])
 */
export async function readSafetensors(path: string, names?: readonly string[]): Promise<Map<string, Tensor>> {
  const file = await SafetensorsFile.open(path)
  try {
    const result = new Map<string, Tensor>()
    for (const name of names ?? file.names) result.set(name, await file.read(name))
    return result
  } finally {
    await file.close()
  }
}

/**
 * Names the format of a file that is not safetensors, from its first bytes: a PyTorch checkpoint (zip archive
 * or bare pickle, as `torch.save` writes `.bin`/`.pt`/`.ckpt`), a Git LFS pointer, JSON or HTML text.
 */
async function recognizeOtherFormat(handle: FileHandle, prefix: Uint8Array, size: number): Promise<string | undefined> {
  const torchHint =
    "pagkit reads only safetensors, which cannot run code when loaded. Use the .safetensors file of the same weights " +
    "(most repositories ship one), or convert it once in Python: " +
    "`safetensors.torch.save_file(torch.load(path, weights_only=True), out)`"
  if (prefix[0] === 0x50 && prefix[1] === 0x4b && prefix[2] === 0x03 && prefix[3] === 0x04) {
    return `it is a zip archive, which is how torch.save writes a PyTorch checkpoint (a pickle). ${torchHint}`
  }
  if (prefix[0] === 0x80 && prefix[1] !== undefined && prefix[1] >= 2 && prefix[1] <= 5) {
    return `it is a Python pickle (protocol ${prefix[1]}), as older torch.save writes PyTorch checkpoints. ${torchHint}`
  }
  const head = new Uint8Array(Math.min(size, 64))
  await readExactly(handle, head, 0)
  const text = new TextDecoder("utf-8", { fatal: false }).decode(head)
  if (text.startsWith("version https://git-lfs.github.com/spec/v1")) {
    return `it is a Git LFS pointer (${size} bytes), not the weights: the repository was cloned without Git LFS. Run \`git lfs install && git lfs pull\` in it, or download the file itself`
  }
  if (/^\s*<(!doctype|html)/i.test(text)) return "it is an HTML page (a failed download?). Download the file again"
  return undefined
}
