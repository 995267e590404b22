// `pag-layer-matching.json`: what diffusers' PAG matcher selects for each pattern (or the error it raises),
// for every self-attention module of each model; also checks that pagkit's ONNX layer index finds those modules.
import path from "node:path"
import { existsSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { LayerPatternError, buildLayerIndex, decodeModel, resolveLayers } from "@pagkit/onnx"
import type { CaseFile, CaseKind, CaseResult, RunContext } from "../kind.js"

/** Model key in the oracle -> ONNX file under the models folder. */
const MODEL_BY_KEY: Readonly<Record<string, string>> = {
  sdxl: "tiny-sdxl/unet/model.onnx",
  pixart: "tiny-pixart-sigma/transformer/model.onnx",
}

interface ModelCases {
  readonly self_attention_modules: readonly string[]
  readonly patterns: Readonly<Record<string, readonly string[] | string>>
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x))
}

async function indexCheck(key: string, cases: ModelCases, ctx: RunContext): Promise<CaseResult | undefined> {
  const rel = MODEL_BY_KEY[key]
  if (rel === undefined) return undefined
  const name = `layer-matching ${key} index`
  const file = path.join(ctx.modelsDir, rel)
  if (!existsSync(file)) return { name, status: "skip", detail: `model not found: ${file}` }
  const index = buildLayerIndex(decodeModel(new Uint8Array(await readFile(file))))
  const found = index.selfAttention.map((a) => a.path)
  const ok = sameSet(found, cases.self_attention_modules)
  return {
    name,
    status: ok ? "pass" : "fail",
    detail: ok
      ? `${found.length} self-attention modules from ${index.source}`
      : `index found ${found.join(", ")}; diffusers lists ${cases.self_attention_modules.join(", ")}`,
  }
}

function patternCheck(key: string, cases: ModelCases, pattern: string, expected: readonly string[] | string): CaseResult {
  const name = `layer-matching ${key} ${JSON.stringify(pattern)}`
  let layers: readonly string[] | undefined
  let error: unknown
  try {
    layers = resolveLayers(cases.self_attention_modules, [pattern], { mode: "diffusers" }).layers
  } catch (e) {
    error = e
  }
  if (typeof expected === "string") {
    if (error instanceof LayerPatternError) return { name, status: "pass", detail: "raises like diffusers" }
    return { name, status: "fail", detail: `diffusers raises (${expected}); pagkit ${layers ? `selected ${layers.length} layers` : String(error)}` }
  }
  if (layers === undefined) return { name, status: "fail", detail: `pagkit raised: ${(error as Error).message.split("\n")[0]}` }
  const ok = sameSet(layers, expected)
  return {
    name,
    status: ok ? "pass" : "fail",
    detail: ok ? `${layers.length} layers` : `selected ${layers.join(", ")}; diffusers ${expected.join(", ")}`,
  }
}

/** diffusers' PAG layer matcher (re.search over self-attention module names) vs pagkit's diffusers mode. */
export const layerMatchingKind: CaseKind = {
  name: "layer-matching",
  tolerances: "exact: same module set, or an error where diffusers raised",
  detect: (file) => path.basename(file.relPath).startsWith("pag-layer-matching") && file.relPath.endsWith(".json"),
  async run(file: CaseFile, ctx: RunContext): Promise<CaseResult[]> {
    const results: CaseResult[] = []
    for (const [key, value] of Object.entries(file.meta)) {
      const cases = value as ModelCases
      if (typeof cases !== "object" || cases === null || !Array.isArray(cases.self_attention_modules)) continue
      const check = await indexCheck(key, cases, ctx).catch(
        (e: unknown): CaseResult => ({ name: `layer-matching ${key} index`, status: "fail", detail: (e as Error).message.split("\n")[0]! }),
      )
      if (check !== undefined) results.push(check)
      for (const [pattern, expected] of Object.entries(cases.patterns ?? {})) results.push(patternCheck(key, cases, pattern, expected))
    }
    return results
  },
}
