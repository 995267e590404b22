import path from "node:path"
import { AutoPipelineForImage2Image, AutoPipelineForInpainting, AutoPipelineForText2Image } from "@pagkit/pipelines"
import type { SdxlCallOptions, SdxlPipeline } from "@pagkit/pipelines"
import type { CaseFile, CaseKind, CaseResult, RunContext } from "../kind.js"

type AnyPipeline = SdxlPipeline<SdxlCallOptions>
const autos = { Text2Image: AutoPipelineForText2Image, Image2Image: AutoPipelineForImage2Image, Inpainting: AutoPipelineForInpainting }
const CALL = /^(Text2Image|Image2Image|Inpainting)\.from_pipe\((\w+)(?:,\s*enable_pag=(True|False))?\)$/

/**
 * `autopipeline-mapping.json`: which class `AutoPipelineFor<Task>.from_pipe(source, enable_pag=…)` returns, whether
 * it shares the source's UNet, and its PAG layers. Sources whose name contains `pag` are PAG text-to-image pipelines.
 */
async function run(file: CaseFile, ctx: RunContext): Promise<CaseResult[]> {
  const base = path.join(ctx.modelsDir, (file.meta["base"] as string | undefined) ?? "tiny-sdxl")
  const plain = await AutoPipelineForText2Image.fromPretrained(base)
  const withPag = AutoPipelineForText2Image.fromPipe(plain as AnyPipeline, { enablePag: true })
  const results: CaseResult[] = []
  for (const [call, expected] of Object.entries(file.meta)) {
    if (typeof expected !== "object" || expected === null) continue
    const name = `autopipeline ${call}`
    const match = CALL.exec(call)
    if (match === null) {
      results.push({ name, status: "fail", detail: `expected "<Text2Image|Image2Image|Inpainting>.from_pipe(<source>[, enable_pag=True|False])"` })
      continue
    }
    const [, task, source, flag] = match as unknown as [string, keyof typeof autos, string, string | undefined]
    const sourcePipe = (source.includes("pag") ? withPag : plain) as AnyPipeline
    const pipe = autos[task].fromPipe(sourcePipe, flag === undefined ? {} : { enablePag: flag === "True" }) as AnyPipeline
    const want = expected as { class: string; shares_unet: boolean; pag_applied_layers: string[] | null }
    const problems: string[] = []
    if (pipe.className !== want.class) problems.push(`class ${pipe.className} != ${want.class}`)
    if ((pipe.model.unet === sourcePipe.model.unet) !== want.shares_unet) problems.push(`shares UNet: ${!want.shares_unet}`)
    if (JSON.stringify(pipe.pagAppliedLayers ?? null) !== JSON.stringify(want.pag_applied_layers)) {
      problems.push(`PAG layers ${JSON.stringify(pipe.pagAppliedLayers ?? null)} != ${JSON.stringify(want.pag_applied_layers)}`)
    }
    results.push({ name, status: problems.length === 0 ? "pass" : "fail", detail: problems.length === 0 ? `${pipe.className}, same UNet session` : problems.join("; ") })
  }
  return results
}

/** AutoPipeline `fromPipe` mapping cases. */
export const autopipelineKind: CaseKind = {
  name: "autopipeline",
  tolerances: "exact: pipeline class, UNet shared, PAG layers",
  detect: (file) => path.basename(file.relPath).startsWith("autopipeline-mapping"),
  run,
}
