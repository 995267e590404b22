import type * as ort from "onnxruntime-node"
import { describe, expect, it } from "vitest"
import { Tensor } from "@pagkit/tensor"
import { intAttribute, makeNode } from "../proto/build.js"
import { encodeModel } from "../proto/encode.js"
import { makeTensorValueInfo } from "../proto/tensor-type.js"
import { DataType } from "../proto/types.js"
import type { ModelProto } from "../proto/types.js"
import { createSession } from "./create-session.js"
import { fromOrtTensor } from "./convert.js"

/** half: float16[n] -> (as_float: float32, echo: float16); ids: int64[n] -> ids_out; scalar: float32[] -> scalar_out */
function tinyModel(): Uint8Array {
  const model: ModelProto = {
    irVersion: 8,
    opsetImports: [{ domain: "", version: 17 }],
    rest: [],
    graph: {
      name: "convert-test",
      nodes: [
        makeNode({ opType: "Cast", name: "cast", inputs: ["half"], outputs: ["as_float"], attributes: [intAttribute("to", DataType.FLOAT)] }),
        makeNode({ opType: "Identity", name: "echo", inputs: ["half"], outputs: ["echo"] }),
        makeNode({ opType: "Identity", name: "ids", inputs: ["ids"], outputs: ["ids_out"] }),
        makeNode({ opType: "Identity", name: "scalar", inputs: ["scalar"], outputs: ["scalar_out"] }),
      ],
      inputs: [
        makeTensorValueInfo("half", DataType.FLOAT16, ["n"]),
        makeTensorValueInfo("ids", DataType.INT64, ["n"]),
        makeTensorValueInfo("scalar", DataType.FLOAT, []),
      ],
      outputs: [
        makeTensorValueInfo("as_float", DataType.FLOAT, ["n"]),
        makeTensorValueInfo("echo", DataType.FLOAT16, ["n"]),
        makeTensorValueInfo("ids_out", DataType.INT64, ["n"]),
        makeTensorValueInfo("scalar_out", DataType.FLOAT, []),
      ],
      valueInfo: [],
      initializers: [],
      rest: [],
    },
  }
  return encodeModel(model)
}

describe("feed and output conversion", () => {
  it("converts float32 -> float16 bits, ints -> int64, rank-1 -> rank-0, and float16 outputs back", async () => {
    const session = await createSession(tinyModel())
    expect(session.inputs.map((i) => `${i.name}:${i.dtype}[${i.shape.join(",")}]`)).toEqual(["half:float16[n]", "ids:int64[n]", "scalar:float32[]"])
    const values = [1, -2.5, 65504, 1e-7, 0.1]
    const out = await session.run({
      half: Tensor.fromArray(values),
      ids: new Tensor("int32", new Int32Array([1, 2, 3, 4, 5]), [5]),
      scalar: Tensor.fromArray([7], [1]),
    })
    expect(out["as_float"]!.dtype).toBe("float32")
    expect(Array.from(out["as_float"]!.data as Float32Array)).toEqual([1, -2.5, 65504, 1.1920928955078125e-7, 0.0999755859375])
    expect(out["echo"]!.dtype).toBe("float32")
    expect(Array.from(out["echo"]!.data as Float32Array)).toEqual(Array.from(out["as_float"]!.data as Float32Array))
    expect(out["ids_out"]!.dtype).toBe("int64")
    expect(Array.from(out["ids_out"]!.data as BigInt64Array)).toEqual([1n, 2n, 3n, 4n, 5n])
    expect(out["scalar_out"]!.shape).toEqual([])
    await session.release()
  })

  it("keeps float16 outputs as bits on request and truncates float ids like numpy", async () => {
    const session = await createSession(tinyModel(), { keepFloat16Outputs: true })
    const out = await session.run(
      { half: Tensor.fromArray([1, 2]), ids: Tensor.fromArray([999.9, -1.5]), scalar: Tensor.fromArray([0], []) },
      ["echo", "ids_out"],
    )
    expect(Object.keys(out).sort()).toEqual(["echo", "ids_out"])
    expect(out["echo"]!.dtype).toBe("float16")
    expect(Array.from(out["echo"]!.data as Uint16Array)).toEqual([0x3c00, 0x4000])
    expect(Array.from(out["ids_out"]!.data as BigInt64Array)).toEqual([999n, -1n])
    await expect(session.run({ half: Tensor.fromArray([1]), ids: Tensor.fromArray([1]), scalar: Tensor.fromArray([1, 2]) })).rejects.toThrow(
      /"scalar": expected float32\[\], found float32\[2\]/,
    )
    await session.release()
  })

  it("reads float16 outputs held in another view type (a Float16Array) without leaving its window", () => {
    // [junk, 1, -2, junk] half bits; the output is the middle two, as a non-Uint16Array view with an offset
    const buffer = new Uint16Array([0x7c00, 0x3c00, 0xc000, 0x7c00]).buffer
    const value = { type: "float16", dims: [2], data: new Int16Array(buffer, 2, 2) } as unknown as ort.Tensor
    const out = fromOrtTensor(value, "half")
    expect(out.shape).toEqual([2])
    expect(Array.from(out.data as Float32Array)).toEqual([1, -2])
  })
})
