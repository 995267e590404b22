// `meta.kind === "ip-adapter-plus-projection"`: the IP-Adapter Plus image projection (the perceiver Resampler,
// diffusers `IPAdapterPlusImageProjection`) of `hidden_states` (the image encoder's penultimate layer output) against
// the stored `image_tokens`, on the weights named by `meta.weights` (`.bin` or `.safetensors`; a path relative to
// the case file's folder first, then to the models folder). Sizes come from the weights, so any shape runs.
// Optional `meta.dim_head` (or `meta.heads`) overrides diffusers' head size of 64.
import { existsSync } from "node:fs"
import path from "node:path"
import { PlusProjectionSession, parseAnyIpAdapterWeights, projectPlusHiddenStates, readIpAdapterTensors } from "@pagkit/ip-adapter"
import type { IpAdapterPlusWeights } from "@pagkit/ip-adapter"
import { SafetensorsFile, maxAbsDiff, toFloat32 } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { measureRelL2 } from "../compare.js"
import type { CaseFile, CaseKind, CaseResult, RunContext } from "../kind.js"

const NAME = "ip-adapter-plus-projection"
const TOL_TOKENS = 1e-5

/** `meta.weights` resolved: the case file's folder first, then the models folder. */
export function resolveWeights(file: CaseFile, ctx: RunContext, weights: string): string | undefined {
  if (path.isAbsolute(weights)) return existsSync(weights) ? weights : undefined
  return [path.join(path.dirname(file.path), weights), path.join(ctx.modelsDir, weights)].find((p) => existsSync(p))
}

async function readCaseTensors(file: string): Promise<Map<string, Tensor>> {
  const handle = await SafetensorsFile.open(file)
  try {
    const out = new Map<string, Tensor>()
    for (const name of handle.names) out.set(name, await handle.read(name))
    return out
  } finally {
    await handle.close()
  }
}

/** The head size the case asks for: `meta.dim_head`, or to_q rows / `meta.heads`; else diffusers' default. */
function headDimOf(meta: Record<string, any>, tensors: ReadonlyMap<string, Tensor>): number | undefined {
  if (typeof meta["dim_head"] === "number") return meta["dim_head"]
  const rows = tensors.get("image_proj.layers.0.0.to_q.weight")?.shape[0]
  if (typeof meta["heads"] === "number" && rows !== undefined) return rows / meta["heads"]
  return undefined
}

async function project(weightsPath: string, meta: Record<string, any>, hiddenStates: Tensor): Promise<{ tokens: Tensor<"float32">; weights: IpAdapterPlusWeights }> {
  const tensors = await readIpAdapterTensors(weightsPath)
  const headDim = headDimOf(meta, tensors)
  const weights = parseAnyIpAdapterWeights(tensors, weightsPath, headDim === undefined ? {} : { plusHeadDim: headDim })
  if (weights.variant !== "plus") throw new Error(`"${weightsPath}" is not an IP-Adapter Plus checkpoint (no image_proj.latents)`)
  return { tokens: projectPlusHiddenStates(weights.projection, hiddenStates), weights }
}

/** The same weights in the other format beside them (`x.bin` ↔ `x.safetensors`), when present. */
function counterpart(weightsPath: string): string | undefined {
  const ext = path.extname(weightsPath)
  const other = ext === ".bin" ? ".safetensors" : ext === ".safetensors" ? ".bin" : undefined
  if (other === undefined) return undefined
  const candidate = weightsPath.slice(0, -ext.length) + other
  return existsSync(candidate) ? candidate : undefined
}

async function runCase(file: CaseFile, ctx: RunContext): Promise<CaseResult[]> {
  const base = path.basename(file.relPath)
  const meta = file.meta
  const weightsName = meta["weights"]
  if (typeof weightsName !== "string") return [{ name: `${NAME} ${base}`, status: "fail", detail: "meta.weights (the adapter checkpoint) is missing" }]
  const weightsPath = resolveWeights(file, ctx, weightsName)
  if (weightsPath === undefined) {
    return [{ name: `${NAME} ${base}`, status: "fail", detail: `meta.weights "${weightsName}" found neither beside the case nor under ${ctx.modelsDir}` }]
  }
  const tensors = await readCaseTensors(file.tensorsPath ?? file.path)
  const hiddenStates = tensors.get("hidden_states")
  const expectedRaw = tensors.get("image_tokens")
  if (hiddenStates === undefined || expectedRaw === undefined) {
    return [{ name: `${NAME} ${base}`, status: "fail", detail: `the case needs tensors hidden_states and image_tokens; found ${[...tensors.keys()].join(", ")}` }]
  }
  const expected = toFloat32(expectedRaw)
  const { tokens, weights } = await project(weightsPath, meta, hiddenStates)
  // diffusers may keep images on their own axis ([B, n, Q, C]); pagkit folds them ([B, n · Q, C]): same order
  const actual = tokens.size === expected.size ? tokens.reshape(expected.shape) : tokens
  const measure = measureRelL2("image_tokens", actual, expected, TOL_TOKENS)
  const p = weights.projection
  const sizes = `queries ${p.numQueries}, heads ${p.heads}×${p.headDim}, depth ${p.blocks.length}, widths ${p.embedDim}→${p.hiddenDim}→${p.outputDim}, ff ${p.ffDim}`
  const results: CaseResult[] = [
    {
      name: `${NAME} ${base} ${path.basename(weightsPath)}`,
      status: measure.value <= TOL_TOKENS ? "pass" : "fail",
      detail:
        `hidden_states [${hiddenStates.shape.join(", ")}] → image_tokens [${actual.shape.join(", ")}] (expected [${expected.shape.join(", ")}]): ` +
        `rel L2 ${measure.value.toExponential(2)} (tolerance ${TOL_TOKENS})` +
        (Number.isFinite(measure.value) ? `, max abs ${maxAbsDiff(actual, expected).toExponential(2)}` : "") +
        `; ${sizes}`,
    },
  ]
  // the onnxruntime graph of the projection, which the pipelines run
  const session = await PlusProjectionSession.create(p)
  try {
    const fast = await session.project(hiddenStates)
    const fastMeasure = measureRelL2("image_tokens", fast.size === expected.size ? fast.reshape(expected.shape) : fast, expected, TOL_TOKENS)
    results.push({
      name: `${NAME} ${base} ${path.basename(weightsPath)} (onnxruntime)`,
      status: fastMeasure.value <= TOL_TOKENS ? "pass" : "fail",
      detail: `PlusProjectionSession: rel L2 ${fastMeasure.value.toExponential(2)} (tolerance ${TOL_TOKENS})`,
    })
  } finally {
    await session.release()
  }
  const other = counterpart(weightsPath)
  if (other !== undefined) {
    const again = (await project(other, meta, hiddenStates)).tokens
    const same = again.size === tokens.size && again.data.every((v, i) => Object.is(v, tokens.data[i]))
    results.push({
      name: `${NAME} ${base} ${path.basename(weightsPath)} vs ${path.basename(other)}`,
      status: same ? "pass" : "fail",
      detail: same ? "bit-identical image tokens from both formats" : `image tokens differ: max abs ${maxAbsDiff(again, tokens).toExponential(2)}`,
    })
  }
  return results
}

/** Conformance of `@pagkit/ip-adapter`'s Plus image projection against torch. */
export const ipAdapterPlusProjectionKind: CaseKind = {
  name: NAME,
  tolerances: `image_tokens rel L2 <= ${TOL_TOKENS} (JS and onnxruntime projections); .bin and .safetensors of the same adapter bit-identical`,
  detect: (file) => file.meta["kind"] === NAME,
  run: async (file, ctx) => {
    try {
      return await runCase(file, ctx)
    } catch (error) {
      return [{ name: `${NAME} ${path.basename(file.relPath)}`, status: "fail", detail: `error: ${(error as Error).message}` }]
    }
  },
}
