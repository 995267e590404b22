// Whole-pipeline PixArt-Sigma cases (`pixart-sigma-*.json` + `.safetensors`): a diffusers call (`meta.call`) run
// through pagkit's PixArtSigmaPipeline with pagkit's own RNG, compared with diffusers' latents after every step,
// the decoded image and every noise draw. See FIXTURES.md "Pipeline cases".
import path from "node:path"
import { SafetensorsFile, maxAbsDiff, permute, relativeL2 } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { RecordingGenerator } from "../recording-generator.js"
import { PixArtSigmaPipeline, pixartCallFromDiffusers } from "@pagkit/pipelines"
import type { PixArtSigmaOutput } from "@pagkit/pipelines"
import type { CaseFile, CaseKind, CaseResult, RunContext } from "../kind.js"
import { TOLERANCES } from "../tolerances.js"

const TOL_IMAGE = TOLERANCES["pipeline-pixart"].imageMaxAbs
const TOL_LATENTS = TOLERANCES["pipeline-pixart"].latentsRelL2
const TOL_NOISE = TOLERANCES["pipeline-pixart"].noiseRelL2

function caseName(file: CaseFile): string {
  return `pipeline-pixart ${path.basename(file.relPath).replace(/\.(json|safetensors)$/, "")}`
}

function fail(name: string, detail: string): CaseResult {
  return { name, status: "fail", detail }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/** `latents.step{k}` keys in step order. */
function stepKeys(names: readonly string[]): string[] {
  return names
    .filter((n) => /^latents\.step\d+$/.test(n))
    .sort((a, b) => Number(a.slice(12)) - Number(b.slice(12)))
}

function noiseKeys(names: readonly string[]): string[] {
  return names.filter((n) => /^noise\.\d+$/.test(n)).sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)))
}

async function compareLatents(
  label: string,
  file: SafetensorsFile,
  steps: readonly { timestep: number; latents: Tensor }[],
  expectedTimesteps: readonly number[] | undefined,
): Promise<CaseResult> {
  const keys = stepKeys(file.names)
  if (keys.length !== steps.length) return fail(label, `pagkit ran ${steps.length} steps; the oracle has ${keys.length} latents.step{k}`)
  if (expectedTimesteps !== undefined && !sameList(steps.map((s) => String(s.timestep)), expectedTimesteps.map(String))) {
    return fail(label, `timesteps [${steps.map((s) => s.timestep).join(", ")}] vs expected [${expectedTimesteps.join(", ")}]`)
  }
  let worst = 0
  let worstStep = 0
  const bad: string[] = []
  for (const [k, key] of keys.entries()) {
    const expected = await file.read(key)
    const actual = steps[k]!.latents
    if (actual.shape.join() !== expected.shape.join()) {
      return fail(label, `step ${k}: shape [${actual.shape.join(", ")}] vs expected [${expected.shape.join(", ")}]`)
    }
    const error = relativeL2(actual, expected)
    if (!(error <= TOL_LATENTS)) bad.push(`step ${k} ${error.toExponential(2)}`)
    if (!(error <= worst)) [worst, worstStep] = [error, k]
  }
  const detail = `${keys.length} steps, max rel L2 ${worst.toExponential(2)} (step ${worstStep})`
  return bad.length === 0
    ? { name: label, status: "pass", detail: `${detail} <= ${TOL_LATENTS}` }
    : fail(label, `${detail} > ${TOL_LATENTS}: ${bad.join(", ")}`)
}

async function compareImage(label: string, file: SafetensorsFile, output: PixArtSigmaOutput): Promise<CaseResult> {
  const expected = await file.read("image") // [N, H, W, 3]
  if (output.images === undefined) return fail(label, "the pipeline returned no images")
  const actual = permute(output.images, [0, 2, 3, 1])
  if (actual.shape.join() !== expected.shape.join()) {
    return fail(label, `shape [${actual.shape.join(", ")}] vs expected [${expected.shape.join(", ")}]`)
  }
  const error = maxAbsDiff(actual, expected)
  const ok = error <= TOL_IMAGE
  return { name: label, status: ok ? "pass" : "fail", detail: `max abs ${error.toExponential(2)} ${ok ? "<=" : ">"} ${TOL_IMAGE}` }
}

async function compareNoise(label: string, file: SafetensorsFile, draws: readonly Tensor[]): Promise<CaseResult> {
  const keys = noiseKeys(file.names)
  if (keys.length !== draws.length) return fail(label, `pagkit drew noise ${draws.length} time(s); the oracle recorded ${keys.length}`)
  let worst = 0
  for (const [i, key] of keys.entries()) {
    const expected = await file.read(key)
    const actual = draws[i]!
    if (actual.shape.join() !== expected.shape.join()) {
      return fail(label, `draw ${i}: shape [${actual.shape.join(", ")}] vs expected [${expected.shape.join(", ")}]`)
    }
    worst = Math.max(worst, relativeL2(actual, expected))
  }
  const ok = worst <= TOL_NOISE
  return { name: label, status: ok ? "pass" : "fail", detail: `${keys.length} draw(s), max rel L2 ${worst.toExponential(2)} ${ok ? "<=" : ">"} ${TOL_NOISE}` }
}

async function runFile(file: CaseFile, ctx: RunContext): Promise<CaseResult[]> {
  const name = caseName(file)
  if (file.tensorsPath === undefined) return [fail(name, "no .safetensors beside the json")]
  const meta = file.meta
  const models = (meta["models"] ?? {}) as Record<string, unknown>
  const extra = Object.keys(models).filter((k) => k !== "base")
  if (typeof models["base"] !== "string") return [fail(name, "meta.models.base (the PixArt-Sigma folder) is missing")]
  if (extra.length > 0) return [fail(name, `unsupported extra models for PixArt-Sigma: ${extra.join(", ")}`)]
  const isPag = String(meta["pipeline"]).includes("PAG")
  const call = (meta["call"] ?? {}) as Record<string, unknown>
  let mapped: ReturnType<typeof pixartCallFromDiffusers>
  try {
    mapped = pixartCallFromDiffusers(call)
  } catch (error) {
    return [fail(name, (error as Error).message)]
  }
  const patterns = (meta["pag_applied_layers"] ?? (isPag ? ["blocks.1"] : [])) as string | string[]
  const generator = new RecordingGenerator(mapped.seed ?? 0)
  const steps: { timestep: number; latents: Tensor }[] = []
  const file2 = await SafetensorsFile.open(file.tensorsPath)
  let pipe: PixArtSigmaPipeline | undefined
  try {
    ctx.log(`${name}: loading ${String(models["base"])}`)
    pipe = await PixArtSigmaPipeline.fromPretrained(path.resolve(ctx.modelsDir, models["base"]), {
      pagAppliedLayers: patterns,
      layerMatching: "diffusers",
    })
    const output = await pipe.run({
      ...mapped.options,
      ...(isPag ? {} : { pagScale: 0 }),
      generator,
      onStep: (event) => void steps.push({ timestep: event.timestep, latents: event.latents }),
    })
    const results: CaseResult[] = []
    const expectedLayers = meta["pag_layers_resolved"] as string[] | undefined
    if (expectedLayers !== undefined) {
      const resolved = pipe.pagLayers.layers
      results.push(
        sameList(resolved, expectedLayers)
          ? { name: `${name} layers`, status: "pass", detail: `${JSON.stringify(patterns)} -> ${resolved.length} layers (diffusers matching)` }
          : fail(`${name} layers`, `resolved ${resolved.join(", ")}; expected ${expectedLayers.join(", ")}`),
      )
    }
    results.push(await compareLatents(`${name} latents`, file2, steps, meta["timesteps"] as number[] | undefined))
    if (file2.has("image")) results.push(await compareImage(`${name} image`, file2, output))
    if (noiseKeys(file2.names).length > 0 || generator.draws.length > 0) {
      results.push(await compareNoise(`${name} noise`, file2, generator.draws))
    }
    return results
  } finally {
    await file2.close()
    await pipe?.release()
  }
}

/** PixArt-Sigma pipeline cases (`meta.pipeline` starting with `PixArtSigma`), PAG or not. */
export const pipelinePixartKind: CaseKind = {
  name: "pipeline-pixart",
  tolerances: `PixArt-Sigma pipelines: latents.step{k} relative L2 <= ${TOL_LATENTS}, image max abs <= ${TOL_IMAGE}, noise draws relative L2 <= ${TOL_NOISE}; pag_layers_resolved must equal the layers pagkit resolved (diffusers matching)`,
  detect: (file) => typeof file.meta["pipeline"] === "string" && file.meta["pipeline"].startsWith("PixArtSigma"),
  run: runFile,
}
