import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SafetensorsError } from "../errors.js"
import type { Tensor } from "../tensor.js"
import { SafetensorsFile, readSafetensors } from "./read.js"
import { encodeSafetensors } from "./write.js"

const fixtures = new URL("../../../tiny-models/", import.meta.url).pathname
const randnPath = join(fixtures, "oracles/torch-randn.safetensors")
const ipAdapterPath = join(fixtures, "models/tiny-ip-adapter/ip-adapter_tiny-sdxl.safetensors")

/** Builds a file from a raw header object and data bytes. */
function rawFile(header: unknown, data: Uint8Array, headerLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header))
  const out = new Uint8Array(8 + json.length + data.length)
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true)
  out.set(json, 8)
  out.set(data, 8 + json.length)
  return out
}

let dir = ""
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pagkit-st-"))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function expectCode(promise: Promise<unknown>, code: string, mentions: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(SafetensorsError)
  expect((error as SafetensorsError).code).toBe(code)
  expect((error as Error).message).toContain(mentions)
}

describe("SafetensorsFile on fixtures", () => {
  it("reads torch.randn oracles with metadata, names in header order and exact values", async () => {
    const file = await SafetensorsFile.open(randnPath)
    try {
      expect(file.metadata["note"]).toContain("torch.randn")
      expect(file.names[0]).toBe("f64.seed0.1x4x8x8")
      expect(file.names).toHaveLength(18)
      expect(file.info("f32.seed42.1x4x128x128")).toEqual({ dtype: "F32", shape: [1, 4, 128, 128], byteLength: 262144 })
      const one = await file.read("f32.seed0.1")
      expect(one.dtype).toBe("float32")
      expect(one.data[0]).toBe(Math.fround(1.5409960746765137))
      const f64 = await file.read("f64.seed0.1x4x8x8")
      expect(f64.dtype).toBe("float64")
      expect(f64.shape).toEqual([1, 4, 8, 8])
      expect(f64.data[0]).toBe(-2.310411800234176)
      const asFloat32 = await file.readFloat32("f64.seed0.1x4x8x8")
      expect(asFloat32.dtype).toBe("float32")
      expect(asFloat32.data[0]).toBe(Math.fround(-2.310411800234176))
      const big = await file.read("f32.seed42.1x4x128x128")
      expect([big.data[0], big.data[1]]).toEqual([Math.fround(1.9269152879714966), Math.fround(1.4872840642929077)])
    } finally {
      await file.close()
    }
  })

  it("reads the IP-Adapter weights and re-encodes them byte for byte", async () => {
    const tensors = await readSafetensors(ipAdapterPath)
    expect(tensors.size).toBe(38)
    const proj = tensors.get("image_proj.proj.weight")!
    expect(proj.shape).toEqual([256, 32])
    expect(proj.data[0]).toBe(Math.fround(-0.17555488646030426))
    const reencoded = encodeSafetensors(Object.fromEntries(tensors))
    expect(Buffer.from(reencoded).equals(await readFile(ipAdapterPath))).toBe(true)
  })

  it("reads every oracle file; re-encoding keeps tensors and metadata (bytes too for the reference writer)", async () => {
    const folders = [join(fixtures, "oracles"), join(fixtures, "oracles/schedulers")]
    let files = 0
    let identical = 0
    for (const folder of folders) {
      for (const name of (await readdir(folder)).filter((n) => n.endsWith(".safetensors"))) {
        const path = join(folder, name)
        const file = await SafetensorsFile.open(path)
        const tensors: Record<string, Tensor> = {}
        for (const key of file.names) tensors[key] = await file.read(key)
        const metadata = Object.keys(file.metadata).length > 0 ? { ...file.metadata } : undefined
        await file.close()
        const encoded = encodeSafetensors(tensors, metadata)
        if (Buffer.from(encoded).equals(await readFile(path))) identical++
        const copy = join(dir, name)
        await writeFile(copy, encoded)
        const reread = await SafetensorsFile.open(copy)
        expect(reread.metadata).toEqual(file.metadata)
        expect([...reread.names].sort()).toEqual([...file.names].sort())
        for (const key of file.names) {
          const back = await reread.readBytes(key)
          const before = tensors[key]!.data
          expect([name, key, Buffer.from(back).equals(Buffer.from(before.buffer, before.byteOffset, before.byteLength))]).toEqual([name, key, true])
        }
        await reread.close()
        files++
      }
    }
    expect(files).toBeGreaterThan(30)
    expect(identical).toBeGreaterThan(0) // files from Python's safetensors writer (others use json.dumps spacing)
  })

  it("reads only the names asked for", async () => {
    const tensors = await readSafetensors(randnPath, ["rand.f32.seed0.40"])
    expect([...tensors.keys()]).toEqual(["rand.f32.seed0.40"])
  })
})

describe("SafetensorsFile decoding", () => {
  it("widens BF16 to float32 and BOOL/I8/I16/U16 as documented", async () => {
    // bf16 1.0 = 0x3f80, -2.5 = 0xc020
    const data = new Uint8Array([0x80, 0x3f, 0x20, 0xc0, 1, 0, 0xff, 0xfe, 0xff, 0xff, 0xff])
    const header = {
      b: { dtype: "BF16", shape: [2], data_offsets: [0, 4] },
      flag: { dtype: "BOOL", shape: [2], data_offsets: [4, 6] },
      i8: { dtype: "I8", shape: [1], data_offsets: [6, 7] },
      i16: { dtype: "I16", shape: [1], data_offsets: [7, 9] },
      u16: { dtype: "U16", shape: [1], data_offsets: [9, 11] },
    }
    const path = join(dir, "widen.safetensors")
    await writeFile(path, rawFile(header, data))
    const t = await readSafetensors(path)
    expect(t.get("b")!.dtype).toBe("float32")
    expect([...t.get("b")!.data]).toEqual([1, -2.5])
    expect(t.get("flag")!.dtype).toBe("uint8")
    expect([...t.get("flag")!.data]).toEqual([1, 0])
    expect([...t.get("i8")!.data]).toEqual([-1])
    expect([...t.get("i16")!.data]).toEqual([-2])
    expect([...t.get("u16")!.data]).toEqual([65535])
  })

  it("reads a zero-size tensor and an empty header", async () => {
    const path = join(dir, "empty.safetensors")
    await writeFile(path, rawFile({ e: { dtype: "F32", shape: [0, 3], data_offsets: [0, 0] } }, new Uint8Array()))
    const t = await readSafetensors(path)
    expect(t.get("e")!.shape).toEqual([0, 3])
    const file2 = join(dir, "none.safetensors")
    await writeFile(file2, rawFile({}, new Uint8Array()))
    const f = await SafetensorsFile.open(file2)
    expect(f.names).toEqual([])
    expect(f.metadata).toEqual({})
    await f.close()
  })
})

describe("SafetensorsFile errors", () => {
  it("wraps a folder passed as a file", async () => {
    await expectCode(SafetensorsFile.open(dir), "SAFETENSORS_CORRUPT", "not a folder")
  })

  it("names the file when it is missing", async () => {
    await expectCode(SafetensorsFile.open(join(dir, "nope.safetensors")), "SAFETENSORS_NOT_FOUND", "nope.safetensors")
  })

  it("rejects a header length past the end", async () => {
    const path = join(dir, "long-header.safetensors")
    await writeFile(path, rawFile({}, new Uint8Array(), 1000n))
    await expectCode(SafetensorsFile.open(path), "SAFETENSORS_CORRUPT", "past the end")
  })

  it("rejects a file shorter than the length prefix", async () => {
    const path = join(dir, "short.safetensors")
    await writeFile(path, new Uint8Array([1, 2, 3]))
    await expectCode(SafetensorsFile.open(path), "SAFETENSORS_CORRUPT", "short.safetensors")
  })

  it("rejects a header that is not JSON", async () => {
    const path = join(dir, "garbage.safetensors")
    const bytes = new Uint8Array(8 + 4)
    new DataView(bytes.buffer).setBigUint64(0, 4n, true)
    bytes.set([0x7b, 0x7b, 0x7b, 0x7b], 8)
    await writeFile(path, bytes)
    await expectCode(SafetensorsFile.open(path), "SAFETENSORS_CORRUPT", "JSON")
  })

  it("rejects offsets out of range and sizes that disagree with the shape", async () => {
    const out = join(dir, "offsets.safetensors")
    await writeFile(out, rawFile({ x: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)))
    await expectCode(SafetensorsFile.open(out), "SAFETENSORS_CORRUPT", "data section has 4 bytes")
    const size = join(dir, "size.safetensors")
    await writeFile(size, rawFile({ x: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)))
    await expectCode(SafetensorsFile.open(size), "SAFETENSORS_CORRUPT", "needs 12 bytes")
  })

  it("rejects an unknown dtype only when that tensor is read", async () => {
    const path = join(dir, "f8.safetensors")
    await writeFile(path, rawFile({ q: { dtype: "F8_E4M3", shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)))
    const file = await SafetensorsFile.open(path)
    expect(file.info("q").dtype).toBe("F8_E4M3")
    await expectCode(file.read("q"), "SAFETENSORS_UNSUPPORTED_DTYPE", "F8_E4M3")
    await file.close()
  })

  it("lists available keys for a missing tensor and refuses reads after close", async () => {
    const file = await SafetensorsFile.open(ipAdapterPath)
    expect(() => file.info("nope")).toThrow(/Available: image_proj\.norm\.bias/)
    await file.close()
    await expectCode(file.read("image_proj.norm.bias"), "SAFETENSORS_CLOSED", "closed")
    await file.close()
  })
})
