import path from "node:path"
import {
  AutoPipelineForImage2Image,
  AutoPipelineForInpainting,
  AutoPipelineForText2Image,
} from "@pagkit/pipelines"
import type { SdxlCallOptions, SdxlPipeline, SdxlTask } from "@pagkit/pipelines"
import { schedulerFromConfig } from "@pagkit/schedulers"
import { SafetensorsFile } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { RecordingGenerator } from "../recording-generator.js"
import type { CaseFile, CaseKind, CaseResult, RunContext } from "../kind.js"
import { allWithin, camelCase, describeMeasures, measureMaxAbs, measureRelL2, toNhwc } from "../compare.js"
import type { Measure } from "../compare.js"
import { TOLERANCES } from "../tolerances.js"

const IMAGE_MAX_ABS = TOLERANCES["pipeline-sdxl"].imageMaxAbs
const LATENTS_REL_L2 = TOLERANCES["pipeline-sdxl"].latentsRelL2
const NOISE_MAX_ABS = TOLERANCES["pipeline-sdxl"].noiseMaxAbs

const CLASS = /^StableDiffusionXL(ControlNet)?(PAG)?(Img2Img|Inpaint)?Pipeline$/
const tasks: Record<string, SdxlTask> = { "": "text2image", Img2Img: "image2image", Inpaint: "inpainting" }

/** diffusers SDXL pipeline class → task, PAG and ControlNet (e.g. `StableDiffusionXLControlNetPAGPipeline`). */
function parseClass(name: string): { task: SdxlTask; pag: boolean; controlnet: boolean } | undefined {
  const match = CLASS.exec(name)
  return match === null ? undefined : { task: tasks[match[3] ?? ""]!, pag: match[2] !== undefined, controlnet: match[1] !== undefined }
}

const autoPipelines = {
  text2image: AutoPipelineForText2Image,
  image2image: AutoPipelineForImage2Image,
  inpainting: AutoPipelineForInpainting,
}

/** `meta.call` (diffusers arguments) → pagkit call options; images resolved under the oracle folder. */
export function callOptions(file: CaseFile): { options: Record<string, unknown>; seed: number | bigint } {
  const call = (file.meta["call"] ?? {}) as Record<string, unknown>
  const options: Record<string, unknown> = {}
  let seed: number | bigint = 0
  for (const [key, value] of Object.entries(call)) {
    if (key === "seed") seed = typeof value === "number" || typeof value === "bigint" ? value : Number(value)
    else if (key === "output_type" || key === "return_dict") continue
    else options[camelCase(key)] = Array.isArray(value) && value.length === 2 && key.endsWith("_size") ? value : value
  }
  // an image, or (several IP-Adapters: ip_adapter_image) a list with one entry per adapter, entries possibly lists
  type Rel = string | readonly Rel[]
  const resolve = (rel: Rel): unknown => (typeof rel === "string" ? path.join(file.oracleDir, rel) : rel.map(resolve))
  const images = (file.meta["images"] ?? {}) as Record<string, Rel>
  for (const [key, rel] of Object.entries(images)) options[camelCase(key)] = resolve(rel)
  return { options, seed }
}

async function runCase(file: CaseFile, ctx: RunContext): Promise<CaseResult> {
  const name = `pipeline ${file.relPath}`
  const cls = parseClass(String(file.meta["pipeline"]))
  // ip_adapter: one weights file (base or Plus, .safetensors or .bin) or a list of them (several IP-Adapters)
  const models = (file.meta["models"] ?? {}) as Record<string, string | string[]>
  if (cls === undefined) return { name, status: "fail", detail: `unknown SDXL pipeline class ${String(file.meta["pipeline"])}` }
  const known = new Set(["base", "unet", "controlnet", "ip_adapter", "image_encoder", "feature_extractor"])
  const unknown = Object.keys(models).filter((k) => !known.has(k))
  if (unknown.length > 0) return { name, status: "fail", detail: `meta.models names components pagkit does not know: ${unknown.join(", ")}` }
  const model = (key: string): string | undefined => (typeof models[key] === "string" ? path.join(ctx.modelsDir, models[key]) : undefined)
  if (cls.controlnet !== (models["controlnet"] !== undefined)) {
    return { name, status: "fail", detail: `${String(file.meta["pipeline"])} and meta.models disagree about a ControlNet` }
  }
  const givenLayers = file.meta["pag_applied_layers"] as string | string[] | undefined
  const layers = givenLayers === undefined ? ["mid"] : typeof givenLayers === "string" ? [givenLayers] : givenLayers
  const unet = model("unet")
  const controlnet = model("controlnet")
  const pipe = (await autoPipelines[cls.task].fromPretrained(model("base")!, {
    enablePag: cls.pag,
    pagAppliedLayers: layers,
    ...(unet === undefined ? {} : { unet }),
    ...(controlnet === undefined ? {} : { controlnet }),
  })) as unknown as SdxlPipeline<SdxlCallOptions>
  // A case may swap the scheduler (class name, or a config as diffusers' from_config writes it).
  const scheduler = file.meta["scheduler"] as string | Record<string, unknown> | undefined
  if (typeof scheduler === "string") pipe.setScheduler(scheduler)
  else if (scheduler !== undefined) pipe.setScheduler(schedulerFromConfig(pipe.schedulerConfig, scheduler))
  const ipAdapter = models["ip_adapter"]
  const weights = ipAdapter === undefined ? undefined : typeof ipAdapter === "string" ? model("ip_adapter")! : ipAdapter.map((w) => path.join(ctx.modelsDir, w))
  if (weights !== undefined) {
    const imageEncoder = model("image_encoder")
    const featureExtractor = model("feature_extractor")
    await pipe.loadIpAdapter({
      weights,
      ...(imageEncoder === undefined ? {} : { imageEncoder }),
      ...(featureExtractor === undefined ? {} : { featureExtractor }),
    })
    // a number or per-block map, or a list with one per adapter (diffusers' set_ip_adapter_scale); default 1 each
    const scale = file.meta["ip_adapter_scale"] as Parameters<typeof pipe.setIpAdapterScale>[0] | undefined
    pipe.setIpAdapterScale(scale ?? (typeof weights === "string" ? 1 : weights.map(() => 1)))
  }
  const { options, seed } = callOptions(file)
  const generator = new RecordingGenerator(seed)
  const draws = generator.draws
  const stepLatents: Tensor[] = []
  const output = await pipe.run({
    ...(options as SdxlCallOptions),
    generator,
    onStep: (event) => void stepLatents.push(event.latents),
  })
  if (file.tensorsPath === undefined) return { name, status: "fail", detail: "no reference tensors (NAME.safetensors) beside the case" }
  const oracle = await SafetensorsFile.open(file.tensorsPath)
  const measures: Measure[] = []
  const counts: string[] = []
  try {
    // Like the PixArt kind: pagkit must run as many steps and draw noise as many times as diffusers did.
    const stepKeys = oracle.names.filter((n) => /^latents\.step\d+$/.test(n)).length
    const noiseKeys = oracle.names.filter((n) => /^noise\.\d+$/.test(n)).length
    if (stepKeys > 0 && stepLatents.length !== stepKeys) counts.push(`pagkit ran ${stepLatents.length} steps; the oracle has ${stepKeys} latents.step{k}`)
    if (noiseKeys > 0 && draws.length !== noiseKeys) counts.push(`pagkit drew noise ${draws.length} time(s); the oracle recorded ${noiseKeys}`)
    if (oracle.has("image")) measures.push(measureMaxAbs("image", toNhwc(output.images!), await oracle.read("image"), IMAGE_MAX_ABS))
    for (let k = 0; oracle.has(`latents.step${k}`); k++) {
      const actual = stepLatents[k]
      const expected = await oracle.read(`latents.step${k}`)
      measures.push(actual === undefined ? { what: `latents.step${k}`, value: Infinity, tolerance: LATENTS_REL_L2 } : measureRelL2(`latents.step${k}`, actual, expected, LATENTS_REL_L2))
    }
    for (let i = 0; oracle.has(`noise.${i}`); i++) {
      const actual = draws[i]
      const expected = await oracle.read(`noise.${i}`)
      measures.push(actual === undefined ? { what: `noise.${i}`, value: Infinity, tolerance: NOISE_MAX_ABS } : measureMaxAbs(`noise.${i}`, actual, expected, NOISE_MAX_ABS))
    }
  } finally {
    await oracle.close()
  }
  const expectedLayers = file.meta["pag_layers_resolved"] as string[] | undefined
  const pagRan = cls.pag && Number(options["pagScale"] ?? 3) > 0
  if (pagRan && expectedLayers !== undefined && JSON.stringify(pipe.pagLayersResolved) !== JSON.stringify(expectedLayers)) {
    return { name, status: "fail", detail: `PAG layers [${pipe.pagLayersResolved.join(", ")}] differ from diffusers' [${expectedLayers.join(", ")}]` }
  }
  if (counts.length > 0) return { name, status: "fail", detail: counts.join("; ") }
  if (measures.length === 0) {
    return { name, status: "fail", detail: `nothing to compare: ${path.basename(file.tensorsPath)} has no image, latents.step{k} or noise.{i} tensor`, comparisons: 0 }
  }
  return { name, status: allWithin(measures) ? "pass" : "fail", detail: `${stepLatents.length} steps, ${draws.length} draw(s): ${describeMeasures(measures)}`, comparisons: measures.length }
}

/**
 * Whole SDXL pipeline calls (`meta.pipeline` = a diffusers SDXL class): pagkit's own RNG seeded from
 * `meta.call.seed`, every argument of `meta.call` passed through (unknown ones fail the case).
 */
export const pipelineSdxlKind: CaseKind = {
  name: "pipeline-sdxl",
  tolerances: `image max abs <= ${IMAGE_MAX_ABS}, latents.step{k} rel L2 <= ${LATENTS_REL_L2}, noise.{i} max abs <= ${NOISE_MAX_ABS}`,
  detect: (file) => typeof file.meta["pipeline"] === "string" && (file.meta["pipeline"] as string).startsWith("StableDiffusionXL"),
  run: async (file, ctx) => [await runCase(file, ctx)],
}
