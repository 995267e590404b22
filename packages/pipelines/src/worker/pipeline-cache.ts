import type { SdxlModel } from "@pagkit/models-sdxl"
import { AutoPipelineForImage2Image, AutoPipelineForInpainting, AutoPipelineForText2Image } from "../auto-pipeline.js"
import type { FromPretrainedOptions } from "../auto-pipeline.js"
import type { SdxlCallOptions } from "../sdxl/sdxl-options.js"
import { SdxlImage2ImagePipeline } from "../sdxl/image2image.js"
import { SdxlInpaintPipeline } from "../sdxl/inpainting.js"
import type { SdxlPipeline } from "../sdxl/sdxl-pipeline.js"
import { SdxlText2ImagePipeline } from "../sdxl/text2image.js"
import type { WorkerPipelineSpec } from "./protocol.js"

/** Any SDXL task pipeline. */
export type AnySdxlPipeline = SdxlPipeline<SdxlCallOptions>

const auto = { text2image: AutoPipelineForText2Image, image2image: AutoPipelineForImage2Image, inpainting: AutoPipelineForInpainting } as const
const constructors = { text2image: SdxlText2ImagePipeline, image2image: SdxlImage2ImagePipeline, inpainting: SdxlInpaintPipeline } as const

/** What decides which weights and sessions are loaded. */
function modelKey(spec: WorkerPipelineSpec): string {
  return JSON.stringify([spec.modelDir, spec.executionProviders ?? null])
}

/** Equal for equal descriptions, whatever their key order. */
function stableKey(spec: WorkerPipelineSpec): string {
  const entries = Object.entries(spec).filter(([, v]) => v !== undefined)
  return JSON.stringify(entries.sort(([a], [b]) => (a < b ? -1 : 1)))
}

function loadOptions(spec: WorkerPipelineSpec): FromPretrainedOptions {
  return {
    ...(spec.enablePag === undefined ? {} : { enablePag: spec.enablePag }),
    ...(spec.pagAppliedLayers === undefined ? {} : { pagAppliedLayers: spec.pagAppliedLayers }),
    ...(spec.layerMatching === undefined ? {} : { layerMatching: spec.layerMatching }),
    ...(spec.scheduler === undefined ? {} : { scheduler: spec.scheduler }),
    ...(spec.executionProviders === undefined ? {} : { executionProviders: spec.executionProviders }),
  }
}

/**
 * Keeps the pipeline a worker serves. The same description reuses the pipeline; a description that differs only in
 * task, PAG layers, layer matching or scheduler builds a new pipeline over the loaded model (no weights read again,
 * as `fromPipe`); another folder or execution providers releases the model and loads the new one.
 */
export class PipelineCache {
  #specKey: string | undefined
  #modelKey: string | undefined
  #pipe: AnySdxlPipeline | undefined
  /** How many times weights were loaded from disk (for tests and diagnostics). */
  loads = 0

  /** The pipeline for `spec`, loading or rebuilding it when needed. */
  async get(spec: WorkerPipelineSpec): Promise<AnySdxlPipeline> {
    const specKey = stableKey(spec)
    if (this.#pipe !== undefined && specKey === this.#specKey) return this.#pipe
    const key = modelKey(spec)
    if (this.#pipe !== undefined && key === this.#modelKey) {
      this.#pipe = this.#build(spec, this.#pipe.model)
    } else {
      await this.release()
      this.#pipe = (await auto[spec.task].fromPretrained(spec.modelDir, loadOptions(spec))) as AnySdxlPipeline
      this.loads += 1
      this.#modelKey = key
    }
    this.#specKey = specKey
    return this.#pipe
  }

  /** Frees the loaded model's sessions. */
  async release(): Promise<void> {
    const model = this.#pipe?.model
    this.#pipe = undefined
    this.#specKey = undefined
    this.#modelKey = undefined
    await model?.release()
  }

  /** A pipeline over an already-loaded model, as `AutoPipelineFor….fromPretrained` would build it. */
  #build(spec: WorkerPipelineSpec, model: SdxlModel): AnySdxlPipeline {
    const layers = spec.pagAppliedLayers === undefined ? ["mid"] : typeof spec.pagAppliedLayers === "string" ? [spec.pagAppliedLayers] : spec.pagAppliedLayers
    const Pipeline = constructors[spec.task]
    const pipe = new Pipeline({
      model,
      ...(spec.layerMatching === undefined ? {} : { layerMatching: spec.layerMatching }),
      pagAppliedLayers: spec.enablePag === true ? layers : undefined,
    }) as AnySdxlPipeline
    if (spec.scheduler !== undefined) pipe.setScheduler(spec.scheduler)
    return pipe
  }
}
