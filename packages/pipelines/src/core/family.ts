// Model families as plugins: a family says which folders it loads and how; DiffusionPipeline dispatches by
// model_index.json through a table of families passed in (default: the families pagkit ships).
import type { ControlNet } from "@pagkit/controlnet"
import type { GuidanceCatalogue } from "@pagkit/guidance"
import type { HookKind, SessionOptions } from "@pagkit/onnx"
import type { SchedulerConfig } from "@pagkit/schedulers"
import type { LayerMatching } from "../layer-resolver.js"
import type { PipelineOutput } from "../output.js"
import type { HookCatalogue } from "./catalogues.js"
import type { HubLoadOptions } from "./model-source.js"

/** The tasks a pipeline can serve. */
export type PipelineTask = "text2image" | "image2image" | "inpainting"

/** What every family's pipeline offers the core machinery (worker, CLI, apps). */
export interface FamilyPipeline {
  readonly className: string
  readonly task: PipelineTask
  readonly pagAppliedLayers: readonly string[] | undefined
  readonly pagLayersResolved: readonly string[]
  readonly hookCatalogue: ReadonlyMap<string, HookKind>
  run(call: never): Promise<PipelineOutput>
}

/** Options any family's loader takes (each family documents which it supports; others are errors naming it). */
export interface FamilyLoadOptions extends HubLoadOptions {
  readonly task?: PipelineTask
  readonly enablePag?: boolean
  readonly pagAppliedLayers?: string | readonly string[]
  readonly layerMatching?: LayerMatching
  readonly scheduler?: string | SchedulerConfig
  readonly executionProviders?: readonly string[]
  /** onnxruntime session options (threads, optimization level) for every session the family loads. */
  readonly sessionOptions?: SessionOptions
  /** Folder caching rewritten (hooked) denoiser graphs between loads. */
  readonly hookCacheDir?: string
  /** A UNet folder instead of the folder's own (SDXL). */
  readonly unet?: string
  /** ControlNet folder(s) or loaded ControlNets (SDXL). */
  readonly controlnet?: string | ControlNet | readonly (string | ControlNet)[]
  readonly hooks?: readonly HookKind[]
  readonly hookCatalogue?: HookCatalogue
  readonly guidanceCatalogue?: GuidanceCatalogue
}

/**
 * A model family: recognises its folders by `model_index.json`'s `_class_name`, loads a pipeline for a task, and
 * (optionally) builds another task's pipeline over a loaded one's sessions.
 */
export interface PipelineFamily<P extends FamilyPipeline = FamilyPipeline> {
  /** Stable id, e.g. `"sdxl"`, `"pixart-sigma"`. */
  readonly id: string
  /** Display name for messages, e.g. `"Stable Diffusion XL"`. */
  readonly name: string
  readonly tasks: readonly PipelineTask[]
  /** Whether a `model_index.json` `_class_name` is this family's. */
  matches(className: string): boolean
  /** Loads the folder as this task's pipeline. */
  load(dir: string, options: FamilyLoadOptions & { readonly task: PipelineTask }): Promise<P>
  /** Another pipeline over the same loaded model (no weights read again), when the family can. */
  fromPipe?(pipe: P, options: FamilyLoadOptions & { readonly task: PipelineTask }): P
  /** Frees everything the pipeline loaded. */
  release(pipe: P): Promise<void>
}

/** Families in dispatch order (first match wins). */
export type FamilyTable = readonly PipelineFamily[]
