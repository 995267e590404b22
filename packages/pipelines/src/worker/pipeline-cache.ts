import { AutoPipelineForImage2Image, AutoPipelineForInpainting, AutoPipelineForText2Image } from "../auto-pipeline.js"
import type { AnySdxlPipeline, FromPretrainedOptions } from "../auto-pipeline.js"
import type { WorkerPipelineSpec } from "./protocol.js"

const auto = { text2image: AutoPipelineForText2Image, image2image: AutoPipelineForImage2Image, inpainting: AutoPipelineForInpainting } as const

/** Equal for equal descriptions, whatever their key order; `keys` limits it to some fields. */
function stableKey(spec: WorkerPipelineSpec, keys?: readonly (keyof WorkerPipelineSpec)[]): string {
  const entries = Object.entries(spec).filter(([k, v]) => v !== undefined && (keys === undefined || keys.includes(k as keyof WorkerPipelineSpec)))
  return JSON.stringify(entries.sort(([a], [b]) => (a < b ? -1 : 1)))
}

/** The fields that decide which weights and sessions are loaded. */
const modelFields = ["modelDir", "executionProviders", "unet", "controlnet", "ipAdapter"] as const

function loadOptions(spec: WorkerPipelineSpec): FromPretrainedOptions {
  return {
    ...(spec.enablePag === undefined ? {} : { enablePag: spec.enablePag }),
    ...(spec.pagAppliedLayers === undefined ? {} : { pagAppliedLayers: spec.pagAppliedLayers }),
    ...(spec.layerMatching === undefined ? {} : { layerMatching: spec.layerMatching }),
    ...(spec.scheduler === undefined ? {} : { scheduler: spec.scheduler }),
    ...(spec.executionProviders === undefined ? {} : { executionProviders: spec.executionProviders }),
    ...(spec.unet === undefined ? {} : { unet: spec.unet }),
    ...(spec.controlnet === undefined ? {} : { controlnet: spec.controlnet }),
  }
}

async function releasePipeline(pipe: AnySdxlPipeline): Promise<void> {
  await Promise.all([pipe.model.release(), pipe.ipAdapter?.adapter.release(), ...pipe.controlnets.map((c) => c.release())])
}

/**
 * Keeps the pipeline a worker serves. The same description reuses the pipeline; a description that differs only in
 * task, PAG layers, layer matching, scheduler or IP-Adapter scale builds a new pipeline over the loaded model (no
 * weights read again, as `fromPipe`); another folder, UNet, ControlNet, IP-Adapter or execution providers releases
 * the model and loads the new one.
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
    const modelKey = stableKey(spec, modelFields)
    if (this.#pipe !== undefined && modelKey === this.#modelKey) {
      const pipe = this.#rebuild(spec, this.#pipe)
      this.#pipe = pipe
    } else {
      await this.release()
      const pipe = (await auto[spec.task].fromPretrained(spec.modelDir, loadOptions(spec))) as AnySdxlPipeline
      this.loads += 1
      if (spec.ipAdapter !== undefined) {
        try {
          await pipe.loadIpAdapter(spec.ipAdapter)
        } catch (error) {
          await releasePipeline(pipe)
          throw error
        }
      }
      this.#pipe = pipe
      this.#modelKey = modelKey
    }
    if (spec.ipAdapter !== undefined) this.#pipe.setIpAdapterScale(spec.ipAdapterScale ?? 1)
    this.#specKey = specKey
    return this.#pipe
  }

  /** Frees the loaded model's sessions (and its IP-Adapter's and ControlNets'). */
  async release(): Promise<void> {
    const pipe = this.#pipe
    this.#pipe = undefined
    this.#specKey = undefined
    this.#modelKey = undefined
    if (pipe !== undefined) await releasePipeline(pipe)
  }

  /** A pipeline over `base`'s model, UNet, ControlNets and IP-Adapter, as `AutoPipelineFor….fromPipe` builds it. */
  #rebuild(spec: WorkerPipelineSpec, base: AnySdxlPipeline): AnySdxlPipeline {
    return auto[spec.task].fromPipe(base, {
      enablePag: spec.enablePag === true,
      pagAppliedLayers: spec.pagAppliedLayers ?? ["mid"], // as a fresh load would
      ...(spec.layerMatching === undefined ? {} : { layerMatching: spec.layerMatching }),
      scheduler: spec.scheduler ?? base.model.schedulerConfig, // as a fresh load would: the folder's unless given
    }) as AnySdxlPipeline
  }
}
