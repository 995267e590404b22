import { existsSync, statSync } from "node:fs"
import { readFile } from "node:fs/promises"
import path from "node:path"
import { locateOnnxModel } from "@pagkit/models-core"
import { LAYER_TARGETS, buildLayerIndex, decodeModel, layerSites, resolveLayers } from "@pagkit/onnx"
import type { LayerTarget } from "@pagkit/onnx"
import type { LayersOptions } from "./args.js"
import { CliError } from "./errors.js"
import { resolveModel, userPath } from "./model-path.js"
import type { Reporter } from "./reporter.js"

/** The denoiser graph of a model: an `.onnx` file as is; a pipeline folder's `unet/` or `transformer/`; a folder with `model.onnx`. */
export async function locateDenoiser(dir: string): Promise<string> {
  if (statSync(dir).isFile()) {
    if (!dir.endsWith(".onnx")) throw new CliError(`layers: ${dir} is a file but not an .onnx graph; pass a model folder or a .onnx file.`)
    return dir
  }
  for (const component of ["unet", "transformer"]) {
    if (existsSync(path.join(dir, component))) return (await locateOnnxModel(dir, component)).modelPath
  }
  return (await locateOnnxModel(dir, "")).modelPath
}

/** What `pagkit layers` reports: the sites of a target type, and per pattern what it selects. */
export interface LayersReport {
  readonly file: string
  readonly target: LayerTarget
  readonly sites: readonly string[]
  readonly resolved: readonly { readonly pattern: string; readonly layers: readonly string[]; readonly notes: readonly string[] }[]
}

/**
 * Lists the hookable sites of a model's denoiser and resolves patterns against them, the way the pipelines do
 * (`resolveLayers` with the chosen matching mode; an unmatched pattern is an error listing the sites).
 */
export async function layersReport(options: LayersOptions): Promise<LayersReport> {
  if (!(LAYER_TARGETS as readonly string[]).includes(options.target)) {
    throw new CliError(`--target expects one of ${LAYER_TARGETS.join(", ")}, found "${options.target}".`)
  }
  const target = options.target as LayerTarget
  const file = options.unet !== undefined ? await locateDenoiser(userPath(options.unet)) : await locateDenoiser(await resolveModel(options.model))
  const index = buildLayerIndex(decodeModel(new Uint8Array(await readFile(file))))
  const sites = layerSites(index, target)
  const mode = options.layerMatching ?? "diffusers"
  const resolved = options.patterns.map((pattern) => ({ pattern, ...resolveLayers(index, [pattern], { mode, target }) }))
  return { file, target, sites, resolved }
}

/** `pagkit layers`: prints the sites (one per line on stdout), or what each `--pattern` resolves to. */
export async function runLayers(options: LayersOptions, reporter: Reporter): Promise<void> {
  const report = await layersReport(options)
  if (report.resolved.length === 0 || reporter.json) {
    reporter.emit({ type: "layers", model: options.model ?? "tiny-sdxl-shapes", file: report.file, target: report.target, sites: report.sites })
  }
  for (const r of report.resolved) reporter.emit({ type: "resolved", pattern: r.pattern, layers: r.layers, notes: r.notes })
}
