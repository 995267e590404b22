import { describe, expect, it } from "vitest"
import { Tensor } from "@pagkit/tensor"
import { createSession } from "../session/create-session.js"
import { float32Initializer, floatAttribute, intsAttribute, makeNode } from "./build.js"
import { decodeModel } from "./decode.js"
import { encodeModel } from "./encode.js"
import { makeTensorValueInfo, tensorTypeOf } from "./tensor-type.js"
import { DataType } from "./types.js"

describe("message builders", () => {
  it("build a model onnxruntime runs: float attribute, ints attribute, float32 initializer", async () => {
    const bytes = encodeModel({
      irVersion: 8,
      opsetImports: [{ domain: "", version: 17 }],
      rest: [],
      graph: {
        name: "builders",
        nodes: [
          makeNode({ opType: "LeakyRelu", name: "leaky", inputs: ["x"], outputs: ["l"], attributes: [floatAttribute("alpha", 0.25)] }),
          makeNode({ opType: "Add", name: "add", inputs: ["l", "bias"], outputs: ["a"] }),
          makeNode({ opType: "Transpose", name: "t", inputs: ["a"], outputs: ["y"], attributes: [intsAttribute("perm", [1, 0])] }),
        ],
        inputs: [makeTensorValueInfo("x", DataType.FLOAT, [2, 3])],
        outputs: [makeTensorValueInfo("y", DataType.FLOAT, [3, "two"])],
        valueInfo: [],
        initializers: [float32Initializer("bias", new Float32Array([10, 20, 30]), [3])],
        rest: [],
      },
    })
    const decoded = decodeModel(bytes)
    expect(decoded.graph.initializers[0]).toMatchObject({ name: "bias", dataType: DataType.FLOAT, dims: [3], external: false })
    expect(tensorTypeOf(decoded.graph.outputs[0]!)).toEqual({ elemType: DataType.FLOAT, dims: [3, "two"] })
    const session = await createSession(bytes)
    const { y } = await session.run({ x: Tensor.fromArray([-4, 1, -8, 2, -2, 3], [2, 3]) })
    expect(y!.shape).toEqual([3, 2])
    expect(Array.from(y!.data as Float32Array)).toEqual([9, 12, 21, 19.5, 28, 33])
    await session.release()
  })
})
