import { defaultGuidanceCatalogue } from "../core/catalogues.js"
import type { FamilyLoadOptions, FamilyPipeline, FamilyTable, PipelineFamily } from "../core/family.js"
import { defaultFamilies, familyOf } from "../diffusion-pipeline.js"
import type { WorkerPipelineSpec } from "./protocol.js"
import type { WorkerPlugins } from "./plugins.js"

/** Equal for equal descriptions, whatever their key order; `keys` limits it to some fields. */
function stableKey(spec: WorkerPipelineSpec, keys?: readonly (keyof WorkerPipelineSpec)[]): string {
  const entries = Object.entries(spec).filter(([k, v]) => v !== undefined && (keys === undefined || keys.includes(k as keyof WorkerPipelineSpec)))
  return JSON.stringify(entries.sort(([a], [b]) => (a < b ? -1 : 1)))
}

/** The fields that decide which weights and sessions are loaded. */
const modelFields = ["modelDir", "executionProviders", "sessionOptions", "hookCacheDir", "unet", "controlnet", "ipAdapter", "plugins"] as const

/** A loaded SDXL-style pipeline's IP-Adapter API, where the family has one. */
interface WithIpAdapter {
  loadIpAdapter(options: NonNullable<WorkerPipelineSpec["ipAdapter"]>): Promise<void>
  setIpAdapterScale(scale: NonNullable<WorkerPipelineSpec["ipAdapterScale"]>): void
}

function hasIpAdapter(pipe: FamilyPipeline): pipe is FamilyPipeline & WithIpAdapter {
  return typeof (pipe as Partial<WithIpAdapter>).loadIpAdapter === "function"
}

function loadOptions(spec: WorkerPipelineSpec, plugins: WorkerPlugins): FamilyLoadOptions & { task: WorkerPipelineSpec["task"] } {
  return {
    task: spec.task,
    ...(spec.enablePag === undefined ? {} : { enablePag: spec.enablePag }),
    ...(spec.pagAppliedLayers === undefined ? {} : { pagAppliedLayers: spec.pagAppliedLayers }),
    ...(spec.layerMatching === undefined ? {} : { layerMatching: spec.layerMatching }),
    ...(spec.scheduler === undefined ? {} : { scheduler: spec.scheduler }),
    ...(spec.executionProviders === undefined ? {} : { executionProviders: spec.executionProviders }),
    ...(spec.sessionOptions === undefined ? {} : { sessionOptions: spec.sessionOptions }),
    ...(spec.hookCacheDir === undefined ? {} : { hookCacheDir: spec.hookCacheDir }),
    ...(spec.unet === undefined ? {} : { unet: spec.unet }),
    ...(spec.controlnet === undefined ? {} : { controlnet: spec.controlnet }),
    ...(plugins.hookKinds === undefined ? {} : { hookCatalogue: plugins.hookKinds }),
    ...(plugins.guidance === undefined ? {} : { guidanceCatalogue: { ...defaultGuidanceCatalogue, ...plugins.guidance } }),
  }
}

/**
 * Keeps the pipeline a worker serves, for any family of its family table. The same description reuses the pipeline;
 * a description that differs only in task, PAG layers, layer matching, scheduler or IP-Adapter scale builds a new
 * pipeline over the loaded model (no weights read again, the family's `fromPipe`); another folder, UNet,
 * ControlNet, IP-Adapter, plugins or execution providers releases the model and loads the new one.
 */
export class PipelineCache {
  #specKey: string | undefined
  #modelKey: string | undefined
  #pipe: FamilyPipeline | undefined
  #family: PipelineFamily | undefined
  readonly #loadPlugins: (specifier: string | undefined) => Promise<WorkerPlugins>
  /** How many times weights were loaded from disk (for tests and diagnostics). */
  loads = 0

  constructor(loadPlugins: (specifier: string | undefined) => Promise<WorkerPlugins> = async () => ({})) {
    this.#loadPlugins = loadPlugins
  }

  /** The pipeline for `spec`, loading or rebuilding it when needed. */
  async get(spec: WorkerPipelineSpec): Promise<FamilyPipeline> {
    const specKey = stableKey(spec)
    if (this.#pipe !== undefined && specKey === this.#specKey) return this.#pipe
    const modelKey = stableKey(spec, modelFields)
    const plugins = await this.#loadPlugins(spec.plugins)
    if (this.#pipe !== undefined && this.#family?.fromPipe !== undefined && modelKey === this.#modelKey) {
      this.#pipe = this.#family.fromPipe(this.#pipe as never, loadOptions(spec, plugins))
    } else {
      await this.release()
      const families: FamilyTable = [...(plugins.families ?? []), ...defaultFamilies]
      const family = await familyOf(spec.modelDir, families)
      const pipe = await family.load(spec.modelDir, loadOptions(spec, plugins))
      this.loads += 1
      if (spec.ipAdapter !== undefined) {
        try {
          if (!hasIpAdapter(pipe)) throw new Error(`${family.name} pipelines take no IP-Adapter; drop ipAdapter from the spec.`)
          await pipe.loadIpAdapter(spec.ipAdapter)
        } catch (error) {
          await family.release(pipe)
          throw error
        }
      }
      this.#pipe = pipe
      this.#family = family
      this.#modelKey = modelKey
    }
    if (spec.ipAdapter !== undefined && hasIpAdapter(this.#pipe)) {
      const weights = spec.ipAdapter.weights
      this.#pipe.setIpAdapterScale(spec.ipAdapterScale ?? (typeof weights === "string" ? 1 : weights.map(() => 1)))
    }
    this.#specKey = specKey
    return this.#pipe
  }

  /** Frees the loaded model's sessions (and its IP-Adapter's and ControlNets'). */
  async release(): Promise<void> {
    const pipe = this.#pipe
    const family = this.#family
    this.#pipe = undefined
    this.#family = undefined
    this.#specKey = undefined
    this.#modelKey = undefined
    if (pipe !== undefined && family !== undefined) await family.release(pipe)
  }
}
