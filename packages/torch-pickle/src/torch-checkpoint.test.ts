import { existsSync } from "node:fs"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { SafetensorsFile, Tensor } from "@pagkit/tensor"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { TorchPickleError } from "./errors.js"
import { PickleBuilder, f32Bytes, zipArchive } from "./internal/test-archive.js"
import { TorchCheckpoint, flattenStateDict, readTorchCheckpoint, readTorchStateDict } from "./torch-checkpoint.js"

const fixtures = fileURLToPath(new URL("../../tiny-models/models/tiny-ip-adapter/", import.meta.url))
const isTensor = (v: unknown): v is Tensor => v instanceof Tensor

describe("torch.save fixtures", () => {
  it("reads ip-adapter-plus_tiny-sdxl.bin: exactly the tensors of the safetensors beside it, bit for bit", async () => {
    const fromBin = await readTorchStateDict(join(fixtures, "ip-adapter-plus_tiny-sdxl.bin"))
    const st = await SafetensorsFile.open(join(fixtures, "ip-adapter-plus_tiny-sdxl.safetensors"))
    try {
      expect([...fromBin.keys()].sort()).toEqual([...st.names].sort())
      for (const name of st.names) {
        const expected = await st.read(name)
        const got = fromBin.get(name)!
        expect(got.dtype, name).toBe(expected.dtype)
        expect(got.shape, name).toEqual(expected.shape)
        expect(Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength).equals(Buffer.from(expected.data.buffer, expected.data.byteOffset, expected.data.byteLength)), name).toBe(true)
      }
    } finally {
      await st.close()
    }
  })

  it("keeps the nesting torch.save wrote and flattens it to the published keys", async () => {
    const root = await readTorchCheckpoint(join(fixtures, "ip-adapter-plus_tiny-sdxl.bin"))
    expect(root).toBeInstanceOf(Map)
    const top = root as ReadonlyMap<string, unknown>
    expect([...top.keys()]).toEqual(["image_proj", "ip_adapter"])
    const flat = flattenStateDict(root, isTensor)
    expect(flat.get("image_proj.latents")!.shape).toEqual([1, 16, 48])
    expect(flat.get("ip_adapter.1.to_k_ip.weight")!.shape).toEqual([32, 64])
  })

  it("refuses pickle-exploit.bin naming posix.system, and nothing it asks for runs", async () => {
    const sentinel = "/tmp/pagkit-pickle-exploit-ran" // what the file's os.system command would create
    await rm(sentinel, { force: true })
    const error = await TorchCheckpoint.open(join(fixtures, "pickle-exploit.bin")).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TorchPickleError)
    expect((error as TorchPickleError).code).toBe("TORCH_PICKLE_GLOBAL_NOT_ALLOWED")
    expect((error as Error).message).toContain("posix.system is not allowed in a weights-only load")
    expect(existsSync(sentinel)).toBe(false)
  })
})

describe("hand-built archives", () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "torch-pickle-"))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })
  const write = async (name: string, records: Parameters<typeof zipArchive>[0], zip64 = false): Promise<string> => {
    const path = join(dir, name)
    await writeFile(path, zipArchive(records, zip64))
    return path
  }

  it("materializes strided views and shared storages (a transpose and a sliced row of one storage)", async () => {
    // storage 0: 2×3 matrix [[0,1,2],[3,4,5]]; "t" = its transpose (stride [1, 3]); "row" = row 1 at offset 3
    const pkl = new PickleBuilder().proto().op(0x7d).mark()
      .str("t").tensor("FloatStorage", "0", 6, 0, [3, 2], [1, 3])
      .str("row").tensor("FloatStorage", "0", 6, 3, [3], [1])
      .str("col").tensor("FloatStorage", "0", 6, 1, [2], [3])
      .op(0x75).stop()
    const path = await write("views.pt", [
      { name: "views/data.pkl", data: pkl },
      { name: "views/byteorder", data: new TextEncoder().encode("little") },
      { name: "views/data/0", data: f32Bytes([0, 1, 2, 3, 4, 5]) },
      { name: "views/version", data: new TextEncoder().encode("3\n") },
    ])
    const tensors = await readTorchStateDict(path)
    expect([...tensors.get("t")!.data]).toEqual([0, 3, 1, 4, 2, 5])
    // the same archive with every size and offset in zip64 fields (archives past 4 GiB)
    const zip64 = await write("views64.pt", [
      { name: "views/data.pkl", data: pkl },
      { name: "views/data/0", data: f32Bytes([0, 1, 2, 3, 4, 5]) },
    ], true)
    expect([...(await readTorchStateDict(zip64)).get("t")!.data]).toEqual([0, 3, 1, 4, 2, 5])
    expect(tensors.get("t")!.shape).toEqual([3, 2])
    expect([...tensors.get("row")!.data]).toEqual([3, 4, 5])
    expect([...tensors.get("col")!.data]).toEqual([1, 4])
  })

  it("decodes bfloat16 to float32, half as float16 bits, big-endian archives and int64", async () => {
    const pkl = new PickleBuilder().proto().op(0x7d).mark()
      .str("bf").tensor("BFloat16Storage", "0", 2, 0, [2], [1])
      .str("half").tensor("HalfStorage", "1", 1, 0, [1], [1])
      .str("long").tensor("LongStorage", "2", 1, 0, [], [])
      .op(0x75).stop()
    const bf = new Uint8Array([0x80, 0x3f, 0x00, 0xc0]) // 1.0, -2.0 little-endian bf16
    const path = await write("dtypes.pt", [
      { name: "a/data.pkl", data: pkl },
      { name: "a/data/0", data: bf },
      { name: "a/data/1", data: new Uint8Array([0x00, 0x3c]) }, // 1.0 half
      { name: "a/data/2", data: new Uint8Array(new BigInt64Array([-7n]).buffer) },
    ])
    const tensors = await readTorchStateDict(path)
    expect(tensors.get("bf")!.dtype).toBe("float32")
    expect([...tensors.get("bf")!.data]).toEqual([1, -2])
    expect(tensors.get("half")!.dtype).toBe("float16")
    expect([...tensors.get("half")!.data]).toEqual([0x3c00])
    expect(tensors.get("long")!.dtype).toBe("int64")
    expect(tensors.get("long")!.shape).toEqual([])
    expect([...(tensors.get("long")!.data as BigInt64Array)]).toEqual([-7n])

    const bigPkl = new PickleBuilder().proto().op(0x7d).mark().str("x").tensor("FloatStorage", "0", 2, 0, [2], [1]).op(0x75).stop()
    const be = new Uint8Array(8)
    new DataView(be.buffer).setFloat32(0, 1.5, false)
    new DataView(be.buffer).setFloat32(4, -3, false)
    const bigPath = await write("big.pt", [
      { name: "b/data.pkl", data: bigPkl },
      { name: "b/byteorder", data: new TextEncoder().encode("big") },
      { name: "b/data/0", data: be },
    ])
    expect([...(await readTorchStateDict(bigPath)).get("x")!.data]).toEqual([1.5, -3])
  })

  it("refuses compressed storages, missing records and views past their storage, before reading any tensor", async () => {
    const pkl = new PickleBuilder().proto().op(0x7d).mark().str("x").tensor("FloatStorage", "0", 2, 0, [2], [1]).op(0x75).stop()
    const compressed = await write("deflated.pt", [{ name: "c/data.pkl", data: pkl }, { name: "c/data/0", data: f32Bytes([1, 2]), method: 8 }])
    await expect(TorchCheckpoint.open(compressed)).rejects.toMatchObject({ code: "TORCH_PICKLE_COMPRESSED_STORAGE" })
    const missing = await write("missing.pt", [{ name: "m/data.pkl", data: pkl }])
    await expect(TorchCheckpoint.open(missing)).rejects.toMatchObject({ code: "TORCH_PICKLE_BAD_ARCHIVE" })
    const past = new PickleBuilder().proto().op(0x7d).mark().str("x").tensor("FloatStorage", "0", 2, 1, [2], [1]).op(0x75).stop()
    const pastPath = await write("past.pt", [{ name: "p/data.pkl", data: past }, { name: "p/data/0", data: f32Bytes([1, 2]) }])
    await expect(TorchCheckpoint.open(pastPath)).rejects.toMatchObject({ code: "TORCH_PICKLE_MALFORMED" })
  })

  it("reads the legacy (pre-zip) format: five pickles, then counted storage records", async () => {
    const magic = Uint8Array.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e])
    const protocol = new PickleBuilder().proto().op(0x4d, 0xe9, 0x03).stop() // 1001
    const sysInfo = new PickleBuilder().proto().op(0x7d).str("little_endian").op(0x88).op(0x73).stop()
    const main = new PickleBuilder().proto().op(0x7d).mark()
      .str("w").tensor("FloatStorage", "140", 6, 0, [2, 3], [3, 1], true)
      .str("wt").tensor("FloatStorage", "140", 6, 0, [3, 2], [1, 3], true)
      .str("b").tensor("HalfStorage", "77", 1, 0, [1], [1], true)
      .op(0x75).stop()
    const keys = new PickleBuilder().proto().op(0x5d).mark().str("140").str("77").op(0x65).stop()
    const count = (n: number): Uint8Array => new Uint8Array(new BigInt64Array([BigInt(n)]).buffer)
    const parts = [magic, protocol, sysInfo, main, keys, count(6), f32Bytes([0, 1, 2, 3, 4, 5]), count(1), new Uint8Array([0x00, 0x3c])]
    const file = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
    parts.reduce((at, p) => (file.set(p, at), at + p.length), 0)
    const legacy = join(dir, "legacy.pt")
    await writeFile(legacy, file)
    const tensors = await readTorchStateDict(legacy)
    expect([...tensors.get("w")!.data]).toEqual([0, 1, 2, 3, 4, 5])
    expect([...tensors.get("wt")!.data]).toEqual([0, 3, 1, 4, 2, 5])
    expect([...tensors.get("b")!.data]).toEqual([0x3c00])
    // a legacy file cut inside its last record, and one whose pickle asks for a disallowed global
    await writeFile(join(dir, "cut.pt"), file.subarray(0, file.length - 1))
    await expect(TorchCheckpoint.open(join(dir, "cut.pt"))).rejects.toMatchObject({ code: "TORCH_PICKLE_LEGACY_FORMAT" })
    const hostile = new PickleBuilder().proto().global("posix", "system").str("true").op(0x85).op(0x52).stop()
    await writeFile(join(dir, "hostile.pt"), Uint8Array.from([...magic, ...protocol, ...sysInfo, ...hostile]))
    await expect(TorchCheckpoint.open(join(dir, "hostile.pt"))).rejects.toThrow(/posix.system is not allowed/)
  })

  it("names the tar format and non-checkpoints clearly", async () => {
    const tar = new Uint8Array(1024)
    tar.set(new TextEncoder().encode("ustar"), 257)
    await writeFile(join(dir, "old.tar"), tar)
    await expect(TorchCheckpoint.open(join(dir, "old.tar"))).rejects.toMatchObject({ code: "TORCH_PICKLE_LEGACY_FORMAT" })
    await expect(TorchCheckpoint.open(join(fixtures, "ip-adapter-plus_tiny-sdxl.safetensors"))).rejects.toMatchObject({ code: "TORCH_PICKLE_BAD_ARCHIVE" })
  })
})
