// Test support for hook kinds: oracle inputs, and sessions over graphs changed by hand (the "other way" a hook's
// result is checked against). For this package's tests only.
import { readFile } from "node:fs/promises"
import path from "node:path"
import { SafetensorsFile } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { buildLayerIndex } from "../layers/layer-index.js"
import type { LayerIndex } from "../layers/layer-index.js"
import { decodeModel } from "../proto/decode.js"
import { encodeModel } from "../proto/encode.js"
import { F } from "../proto/types.js"
import type { ModelProto } from "../proto/types.js"
import { ProtoWriter } from "../proto/wire.js"
import { createSession } from "../session/create-session.js"
import type { ModelSession } from "../session/model-session.js"
import { model, oraclesDir } from "./fixtures.js"

/** The `in.*` tensors of a denoiser oracle (batch 3: uncond, cond, perturbed). */
export async function oracleInputs(name: "denoiser-sdxl-unet" | "denoiser-pixart"): Promise<Record<string, Tensor>> {
  const file = await SafetensorsFile.open(path.join(oraclesDir, `${name}.safetensors`))
  const inputs: Record<string, Tensor> = {}
  for (const key of file.names) if (key.startsWith("in.")) inputs[key.slice(3)] = await file.read(key)
  await file.close()
  return inputs
}

/** Every reader of `tensor` reads `replacement` instead (a hand-made graph change). */
export function redirect(graph: ModelProto["graph"], tensor: string, replacement: string): void {
  for (const node of graph.nodes) node.inputs.forEach((input, i) => (input === tensor ? (node.inputs[i] = replacement) : undefined))
}

/** Adds float32 graph outputs of unknown shape (to read intermediate tensors). */
export function exposeOutputs(graph: ModelProto["graph"], names: readonly string[]): void {
  for (const name of names) {
    const type = new ProtoWriter().message(F.type.tensorType, (t) => t.varint(F.tensorType.elemType, 1)).finish()
    graph.outputs.push({ name, type, rest: [] })
  }
}

/** Decodes a fixture model, applies `edit`, and opens a session over the result. */
export async function editedSession(
  folderOrModel: string | ModelProto,
  edit: (model: ModelProto, index: LayerIndex) => void = () => {},
): Promise<ModelSession> {
  const decoded = typeof folderOrModel === "string" ? decodeModel(new Uint8Array(await readFile(model(folderOrModel)))) : folderOrModel
  edit(decoded, buildLayerIndex(decoded))
  return createSession(encodeModel(decoded), { intraOpThreads: 2 })
}
