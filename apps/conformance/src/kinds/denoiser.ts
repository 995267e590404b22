// Denoiser-level PAG cases (`denoiser-*.json` + `.safetensors`): one UNet/transformer call with identity
// attention on given layers, against diffusers' outputs. See FIXTURES.md "denoiser-sdxl-unet.*".
import path from "node:path"
import { existsSync } from "node:fs"
import { SafetensorsFile, concat, relativeL2, slice } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { identityAttention, loadHookedModel, resolveLayers } from "@pagkit/onnx"
import type { HookedModel } from "@pagkit/onnx"
import type { CaseFile, CaseKind, CaseResult, RunContext } from "../kind.js"

const TOL_PAG = 1e-4
const TOL_PLAIN = 1e-6

/** Case-file name prefix -> model file under the models folder (longest prefix wins; `meta.model` overrides). */
const MODEL_BY_PREFIX: Readonly<Record<string, string>> = {
  "denoiser-sdxl-unet": "tiny-sdxl/unet/model.onnx",
  "denoiser-sdxl": "tiny-sdxl/unet/model.onnx",
  "denoiser-pixart": "tiny-pixart-sigma/transformer/model.onnx",
  "denoiser-unet-dynamo": "variants/unet-dynamo/model.onnx",
  "denoiser-unet-fp16": "variants/unet-fp16/model.onnx",
  "denoiser-unet-controlnet": "variants/unet-controlnet/model.onnx",
  "denoiser-sdxl-shapes": "tiny-sdxl-shapes/unet/model.onnx",
}

/** float16 weights: ONNX Runtime vs PyTorch differ by about 1e-3 (FIXTURES.md). */
const TOL_FP16 = 3e-3

interface DenoiserCase {
  readonly patterns?: readonly string[]
  readonly layers?: readonly string[]
}

function modelPath(file: CaseFile, ctx: RunContext): string {
  const models = file.meta["models"] as Record<string, unknown> | undefined
  const fromMeta = file.meta["model"] ?? models?.["unet"] ?? models?.["transformer"]
  if (typeof fromMeta === "string") {
    const full = path.resolve(ctx.modelsDir, fromMeta)
    return full.endsWith(".onnx") ? full : path.join(full, "model.onnx")
  }
  const base = path.basename(file.relPath).replace(/\.(json|safetensors)$/, "")
  const prefix = Object.keys(MODEL_BY_PREFIX)
    .filter((p) => base.startsWith(p))
    .sort((a, b) => b.length - a.length)[0]
  if (prefix === undefined) {
    throw new Error(`no model known for ${base}: add "model" to its metadata or a prefix to MODEL_BY_PREFIX in apps/conformance/src/kinds/denoiser.ts`)
  }
  return path.join(ctx.modelsDir, MODEL_BY_PREFIX[prefix]!)
}

/** Rows of the given chunks (chunk-major layout, `chunk` rows each) of every per-row input. */
function takeChunks(inputs: Record<string, Tensor>, batch: number, chunk: number, chunks: readonly number[]): Record<string, Tensor> {
  const out: Record<string, Tensor> = {}
  for (const [name, t] of Object.entries(inputs)) {
    out[name] = t.rank > 0 && t.shape[0] === batch ? concat(chunks.map((c) => slice(t, 0, c * chunk, (c + 1) * chunk))) : t
  }
  return out
}

function gateRows(layout: readonly string[], chunk: number, layers: readonly string[]): string[][] {
  return layout.flatMap((label) => Array.from({ length: chunk }, () => (label === "perturbed" ? [...layers] : [])))
}

function compare(name: string, actual: Tensor | undefined, expected: Tensor, tolerance: number): CaseResult {
  if (actual === undefined) return { name, status: "fail", detail: "the model returned no output" }
  if (actual.shape.join() !== expected.shape.join()) {
    return { name, status: "fail", detail: `shape [${actual.shape.join(", ")}] vs expected [${expected.shape.join(", ")}]` }
  }
  const error = relativeL2(actual, expected)
  const ok = error <= tolerance
  return { name, status: ok ? "pass" : "fail", detail: `rel L2 ${error.toExponential(2)} ${ok ? "<=" : ">"} ${tolerance}` }
}

async function runFile(file: CaseFile, ctx: RunContext): Promise<CaseResult[]> {
  const label = `denoiser ${path.basename(file.relPath).replace(/\.(json|safetensors)$/, "")}`
  if (file.tensorsPath === undefined) return [{ name: label, status: "fail", detail: "no .safetensors beside the json" }]
  const source = modelPath(file, ctx)
  if (!existsSync(source)) return [{ name: label, status: "fail", detail: `model not found: ${source}` }]
  const tensors = await SafetensorsFile.open(file.tensorsPath)
  const read = async (key: string): Promise<Tensor | undefined> => (tensors.has(key) ? tensors.read(key) : undefined)
  const inputs: Record<string, Tensor> = {}
  for (const key of tensors.names) if (key.startsWith("in.")) inputs[key.slice(3)] = (await read(key))!
  const cases = (file.meta["cases"] ?? {}) as Record<string, DenoiserCase>
  const layoutCfg = (file.meta["batch_layout_cfg"] ?? ["uncond", "cond", "perturbed"]) as string[]
  const layoutNoCfg = (file.meta["batch_layout_nocfg"] ?? ["cond", "perturbed"]) as string[]
  let model: HookedModel | undefined
  const results: CaseResult[] = []
  try {
    model = await loadHookedModel(source, { hooks: [identityAttention()] })
    const output = model.session.outputs[0]!.name
    const plain = await read("out.plain")
    const batch = plain?.shape[0] ?? Math.max(...Object.values(inputs).map((t) => t.shape[0] ?? 0))
    const chunk = batch / layoutCfg.length
    const tolPag = /fp16|float16/.test(source) ? TOL_FP16 : TOL_PAG
    const tolPlain = /fp16|float16/.test(source) ? TOL_FP16 : TOL_PLAIN
    if (plain !== undefined) {
      results.push(compare(`${label} plain`, (await model.run(inputs))[output], plain, tolPlain))
    }
    for (const [caseName, c] of Object.entries(cases)) {
      let layers = c.layers
      if (c.patterns !== undefined) {
        try {
          const resolved = resolveLayers(model.index, c.patterns, { mode: "diffusers" }).layers
          layers ??= resolved
          const same = resolved.length === layers.length && layers.every((l) => resolved.includes(l))
          results.push({
            name: `${label} layers.${caseName}`,
            status: same ? "pass" : "fail",
            detail: same ? `${JSON.stringify(c.patterns)} -> ${resolved.length} layers` : `resolved ${resolved.join(", ")}; expected ${layers.join(", ")}`,
          })
        } catch (error) {
          results.push({ name: `${label} layers.${caseName}`, status: "fail", detail: (error as Error).message.split("\n")[0]! })
        }
      }
      if (layers === undefined) {
        results.push({ name: `${label} ${caseName}`, status: "fail", detail: "the case has neither layers nor resolvable patterns" })
        continue
      }
      const checks: [string, readonly string[]][] = [
        ["cfg", layoutCfg],
        ["nocfg", layoutNoCfg],
      ]
      for (const [layoutName, layout] of checks) {
        const expected = await read(`out.${layoutName}.${caseName}`)
        if (expected === undefined) continue
        const name = `${label} ${layoutName}.${caseName}`
        try {
          const chunks = layout.map((l) => layoutCfg.indexOf(l))
          const rows = layout === layoutCfg ? inputs : takeChunks(inputs, batch, chunk, chunks)
          const gates = model.gates("identity-attention", gateRows(layout, chunk, layers))
          results.push(compare(name, (await model.run({ ...rows, pag_gates: gates }))[output], expected, tolPag))
        } catch (error) {
          results.push({ name, status: "fail", detail: (error as Error).message.split("\n")[0]! })
        }
      }
    }
  } finally {
    await tensors.close()
    await model?.release()
  }
  return results
}

/** Denoiser-level PAG cases: hooked UNet/transformer vs diffusers' identity-attention outputs. */
export const denoiserKind: CaseKind = {
  name: "denoiser",
  tolerances: `relative L2: PAG rows (cfg/nocfg) <= ${TOL_PAG}, plain (all gates 0) <= ${TOL_PLAIN}, float16 models <= ${TOL_FP16}; layers resolved from patterns (diffusers mode) must equal the oracle's`,
  detect: (file) => path.basename(file.relPath).startsWith("denoiser-"),
  run: runFile,
}
