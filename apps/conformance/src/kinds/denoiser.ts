// Denoiser-level PAG cases (`denoiser-*.json` + `.safetensors`): one UNet/transformer call with identity
// attention on given layers, against diffusers' outputs. See FIXTURES.md "denoiser-sdxl-unet.*".
import path from "node:path"
import { existsSync, readFileSync } from "node:fs"
import { SafetensorsFile, Tensor, concat, relativeL2, slice } from "@pagkit/tensor"
import { IDENTITY_ATTENTION, identityAttention, loadHookedModel, resolveLayers } from "@pagkit/onnx"
import type { HookedModel } from "@pagkit/onnx"
import type { CaseFile, CaseKind, CaseResult, RunContext } from "../kind.js"
import { TOLERANCES } from "../tolerances.js"

const TOL_PAG = TOLERANCES.denoiser.pagRowsRelL2
const TOL_PLAIN = TOLERANCES.denoiser.plainRelL2

/** Case-file name prefix -> model file under the models folder (longest prefix wins; `meta.model` overrides). */
const MODEL_BY_PREFIX: Readonly<Record<string, string>> = {
  "denoiser-sdxl-unet": "tiny-sdxl/unet/model.onnx",
  "denoiser-sdxl": "tiny-sdxl/unet/model.onnx",
  "denoiser-pixart": "tiny-pixart-sigma/transformer/model.onnx",
  "denoiser-unet-dynamo": "variants/unet-dynamo/model.onnx",
  "denoiser-unet-fp16": "variants/unet-fp16/model.onnx",
  "denoiser-unet-controlnet": "variants/unet-controlnet/model.onnx",
  "denoiser-sdxl-shapes": "tiny-sdxl-shapes/unet/model.onnx",
  "denoiser-sdxl-unet-dynamo": "variants/unet-dynamo/model.onnx",
  "denoiser-sdxl-unet-fp16": "variants/unet-fp16/model.onnx",
  "denoiser-sdxl-unet-controlnet": "variants/unet-controlnet/model.onnx",
}

/** float16 weights: ONNX Runtime vs PyTorch differ by about 1e-3 (FIXTURES.md). */
const TOL_FP16 = TOLERANCES.denoiser.float16RelL2

interface DenoiserCase {
  readonly patterns?: readonly string[]
  readonly layers?: readonly string[]
}

function modelPath(file: CaseFile, ctx: RunContext): string {
  const models = file.meta["models"] as Record<string, unknown> | undefined
  const fromMeta = file.meta["model"] ?? models?.["unet"] ?? models?.["transformer"]
  const base = models?.["base"]
  if (fromMeta === undefined && typeof base === "string") {
    const folder = path.resolve(ctx.modelsDir, base)
    const denoiser = ["unet", "transformer"].find((d) => existsSync(path.join(folder, d, "model.onnx")))
    if (denoiser !== undefined) return path.join(folder, denoiser, "model.onnx")
  }
  if (typeof fromMeta === "string") {
    const full = path.resolve(ctx.modelsDir, fromMeta)
    return full.endsWith(".onnx") ? full : path.join(full, "model.onnx")
  }
  const name = path.basename(file.relPath).replace(/\.(json|safetensors)$/, "")
  const prefix = Object.keys(MODEL_BY_PREFIX)
    .filter((p) => name.startsWith(p))
    .sort((a, b) => b.length - a.length)[0]
  if (prefix === undefined) {
    throw new Error(`no model known for ${name}: add "model" to its metadata or a prefix to MODEL_BY_PREFIX in apps/conformance/src/kinds/denoiser.ts`)
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

const DOWN_RESIDUAL = /^down_block_additional_residual_(\d+)$/

/**
 * Zero ControlNet residuals for a UNet that takes them (an unconditioned ControlNet UNet equals the plain one).
 * Spatial sizes follow diffusers' down path: conv_in at full size, then per block `layers_per_block` resnets and a
 * downsample (none after the last block); `layers_per_block` from the folder's config.json, else SDXL's 2.
 */
function zeroResiduals(model: HookedModel, source: string, sample: Tensor | undefined, fed: Record<string, Tensor>): Record<string, Tensor> {
  const missing = model.session.inputs.filter((i) => fed[i.name] === undefined && (DOWN_RESIDUAL.test(i.name) || i.name === "mid_block_additional_residual"))
  if (missing.length === 0 || sample === undefined) return {}
  const configFile = path.join(path.dirname(source), "config.json")
  const config = existsSync(configFile) ? (JSON.parse(readFileSync(configFile, "utf8")) as { layers_per_block?: number }) : {}
  const perBlock = (config.layers_per_block ?? 2) + 1
  const downCount = missing.filter((i) => DOWN_RESIDUAL.test(i.name)).length
  const blocks = Math.max(1, Math.round(downCount / perBlock)) // 1 + D·L + (D − 1) = D·(L + 1) residuals
  const [batch, , h, w] = sample.shape as [number, number, number, number]
  const out: Record<string, Tensor> = {}
  for (const info of missing) {
    const k = Number(DOWN_RESIDUAL.exec(info.name)?.[1] ?? -1)
    const halvings = k < 0 ? blocks - 1 : k === 0 ? 0 : Math.floor((k - 1) / perBlock) + ((k - 1) % perBlock === perBlock - 1 ? 1 : 0)
    const channels = typeof info.shape[1] === "number" ? info.shape[1] : 0
    const shape = [batch, channels, Math.ceil(h / 2 ** halvings), Math.ceil(w / 2 ** halvings)]
    out[info.name] = Tensor.zeros(shape)
  }
  return out
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
    Object.assign(inputs, zeroResiduals(model, source, inputs["sample"], inputs))
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
          const gates = model.gates(IDENTITY_ATTENTION, gateRows(layout, chunk, layers))
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
