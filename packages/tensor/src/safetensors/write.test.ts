import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SafetensorsError } from "../errors.js"
import { Tensor } from "../tensor.js"
import { readSafetensors, SafetensorsFile } from "./read.js"
import { encodeSafetensors, writeSafetensors } from "./write.js"

let dir = ""
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pagkit-stw-"))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe("encodeSafetensors / writeSafetensors", () => {
  it("round-trips every dtype and the metadata", async () => {
    const tensors = {
      f32: Tensor.fromArray([1.5, -2, 3], [3, 1]),
      f16: new Tensor("float16", new Uint16Array([0x3c00, 0xc000]), [2]),
      f64: new Tensor("float64", new Float64Array([Math.PI]), [1]),
      i32: new Tensor("int32", new Int32Array([-7, 8]), [1, 2]),
      i64: new Tensor("int64", new BigInt64Array([-(2n ** 40n)]), []),
      u8: new Tensor("uint8", new Uint8Array([0, 255, 9]), [3]),
    }
    const path = join(dir, "all.safetensors")
    await writeSafetensors(path, tensors, { format: "pt", note: "x" })
    const file = await SafetensorsFile.open(path)
    expect(file.metadata).toEqual({ format: "pt", note: "x" })
    // sorted by element size (largest first), then name
    expect(file.names).toEqual(["f64", "i64", "f32", "i32", "f16", "u8"])
    expect(file.info("f16").dtype).toBe("F16")
    await file.close()
    const back = await readSafetensors(path)
    for (const [name, tensor] of Object.entries(tensors)) {
      const read = back.get(name)!
      expect(read.dtype).toBe(tensor.dtype)
      expect(read.shape).toEqual(tensor.shape)
      expect([...read.data]).toEqual([...tensor.data])
    }
  })

  it("pads the header with spaces to a multiple of 8 bytes and aligns every tensor", () => {
    const bytes = encodeSafetensors({ a: Tensor.fromArray([1]), b: new Tensor("float64", new Float64Array([2]), [1]) })
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true))
    expect(headerLength % 8).toBe(0)
    const json = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))
    expect(json.endsWith(" ") || json.endsWith("}")).toBe(true)
    expect(JSON.parse(json)).toEqual({
      b: { dtype: "F64", shape: [1], data_offsets: [0, 8] },
      a: { dtype: "F32", shape: [1], data_offsets: [8, 12] },
    })
    expect(bytes.length).toBe(8 + headerLength + 12)
  })

  it("stores float32 as BF16 with round-to-nearest-even when asked", async () => {
    // 1 + 2^-8 is a tie between bf16 1 and 1 + 2^-7: rounds to even (1); 1 + 3*2^-9 rounds up.
    const values = [1 + 2 ** -8, 1 + 3 * 2 ** -9, -0, Infinity, Number.NaN, 3.4e38]
    const bytes = encodeSafetensors({ x: Tensor.fromArray(values) }, undefined, { bfloat16: true })
    const path = join(dir, "bf16.safetensors")
    await import("node:fs/promises").then((fs) => fs.writeFile(path, bytes))
    const file = await SafetensorsFile.open(path)
    expect(file.info("x")).toEqual({ dtype: "BF16", shape: [6], byteLength: 12 })
    const read = await file.read("x")
    await file.close()
    expect(read.dtype).toBe("float32")
    const out = [...read.data]
    expect(out.slice(0, 4)).toEqual([1, 1 + 2 ** -7, -0, Infinity])
    expect(Object.is(out[2], -0)).toBe(true)
    expect(Number.isNaN(out[4])).toBe(true)
    expect(out[5]).toBe(Infinity) // 3.4e38 rounds past bf16's max finite value
  })

  it("rejects a tensor named __metadata__ and non-string metadata", () => {
    expect(() => encodeSafetensors({ __metadata__: Tensor.fromArray([1]) })).toThrow(SafetensorsError)
    expect(() => encodeSafetensors({}, { n: 1 as unknown as string })).toThrow(/must be strings/)
  })

  it("names the path when the folder does not exist", async () => {
    await expect(writeSafetensors(join(dir, "no/such/dir.safetensors"), {})).rejects.toThrow(/no\/such\/dir/)
  })
})
