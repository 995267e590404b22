import { Tensor } from "@pagkit/tensor"
import type { DType, DataTypeMap, Shape } from "@pagkit/tensor"
import type { IpAdapterScaleInput } from "@pagkit/ip-adapter"
import type { IpAdapterLoadOptions } from "../sdxl/unet-extras.js"
import type { SchedulerConfig } from "@pagkit/schedulers"
import type { SessionOptions } from "@pagkit/onnx"
import { GuidanceChain } from "@pagkit/guidance"
import type { GuidanceJSON } from "@pagkit/guidance"
import type { LayerMatching } from "../layer-resolver.js"
import type { PipelineTask } from "../core/family.js"
import type { PixArtSigmaCallOptions } from "../pixart/pixart-options.js"
import type { SdxlInpaintOptions, SdxlText2ImageOptions } from "../sdxl/sdxl-options.js"
import type { WireError } from "./remote-error.js"

/** The `workerData` flag that makes `worker-entry.ts` serve. */
export const WORKER_FLAG = "pagkitPipelineWorker"

/** Which pipeline a worker loads: everything `DiffusionPipeline.fromPretrained` needs, as plain data. */
export interface WorkerPipelineSpec {
  readonly task: PipelineTask
  /** A diffusers ONNX folder of any family in the worker's family table (absolute, or relative to the worker's cwd). */
  readonly modelDir: string
  /**
   * A module (absolute path, file URL or package name) the worker imports for plugins: its exports `hookKinds`
   * (`HookKind[]`, added to the hook catalogue), `guidance` (a `GuidanceCatalogue`, merged over pagkit's) and
   * `families` (a `FamilyTable`, tried before pagkit's). Plugins cannot cross threads as values; a module can.
   */
  readonly plugins?: string
  readonly enablePag?: boolean
  /** PAG layer patterns (default `["mid"]`). */
  readonly pagAppliedLayers?: string | readonly string[]
  readonly layerMatching?: LayerMatching
  /** A scheduler class name or config instead of the folder's. */
  readonly scheduler?: string | SchedulerConfig
  /** onnxruntime execution providers (default `["cpu"]`). */
  readonly executionProviders?: readonly string[]
  /** onnxruntime session options as plain data, e.g. `{ intraOpThreads: 2 }`. */
  readonly sessionOptions?: Omit<SessionOptions, "executionProviders" | "externalDataDir">
  /** Folder caching rewritten (hooked) denoiser graphs, so a new worker skips the rewrite. */
  readonly hookCacheDir?: string
  /** A UNet folder instead of the folder's own (e.g. one taking ControlNet residuals). */
  readonly unet?: string
  /** ControlNet folder(s): makes a ControlNet pipeline. */
  readonly controlnet?: string | readonly string[]
  /** IP-Adapter(s) to load (diffusers' `load_ip_adapter`), as file and folder paths; `weights` a file or a list. */
  readonly ipAdapter?: Omit<IpAdapterLoadOptions, "sessionOptions">
  /** IP-Adapter scale: a number or a per-block map, or a list with one per adapter (default 1 each, as diffusers). */
  readonly ipAdapterScale?: IpAdapterScaleInput | readonly IpAdapterScaleInput[]
}

/**
 * Call options that cannot cross a thread (functions, live objects): use the worker's `onProgress` and `signal`.
 * A guidance chain crosses as its JSON (`chain.toJSON()`, done for you).
 */
export const unserializableOptions = ["onStep", "signal", "generator", "onWarning"] as const

/** One of {@link unserializableOptions}. */
export type UnserializableOption = (typeof unserializableOptions)[number]

/**
 * A pipeline call as plain data: prompts, sizes, steps, scales, seed, images as file paths, encoded bytes or tensors.
 * Tensors are copied to the worker; the caller keeps its own.
 */
export type WorkerCallOptions = Omit<SdxlText2ImageOptions, UnserializableOption | "guidance"> &
  Partial<Omit<SdxlInpaintOptions, UnserializableOption | keyof SdxlText2ImageOptions>> &
  Partial<Omit<PixArtSigmaCallOptions, UnserializableOption | keyof SdxlText2ImageOptions>> & {
    /** A guidance chain (sent as its JSON) or its JSON form; custom strategies need the worker's `plugins` module. */
    readonly guidance?: GuidanceChain | GuidanceJSON
  }

/** One run: which pipeline, and the call. */
export interface WorkerRunRequest {
  readonly pipeline: WorkerPipelineSpec
  readonly call: WorkerCallOptions
}

/** A progress event sent after each denoising step (the pipelines' `StepEvent` without the latents). */
export interface WorkerProgressEvent {
  /** 0-based step index within the run. */
  readonly step: number
  readonly numSteps: number
  /** The scheduler timestep of the step. */
  readonly timestep: number
}

/** Where a worker run's time went, in milliseconds. */
export interface WorkerTimings {
  /** Loading weights and sessions; 0 when the loaded model was reused. */
  readonly loadMs: number
  /** The pipeline call: prompt encoding, steps, decoding. */
  readonly runMs: number
}

/** A tensor as it crosses a thread: its typed array is transferred or copied by structured clone. */
export interface WireTensor {
  readonly dtype: DType
  readonly shape: Shape
  readonly data: DataTypeMap[DType]
}

/** Messages from the host thread to the worker. */
export type HostMessage =
  | { readonly type: "run"; readonly id: number; readonly pipeline: WorkerPipelineSpec; readonly call: Record<string, unknown> }
  | { readonly type: "cancel"; readonly id: number }

/** A run's result as it crosses back: tensors with transferred buffers. */
export interface WireResult {
  /** diffusers' class name of the pipeline that ran (e.g. `StableDiffusionXLPAGPipeline`). */
  readonly className: string
  /** Milliseconds spent loading (0 when the loaded model was reused) and running the call, inside the worker. */
  readonly timings: WorkerTimings
  readonly images: WireTensor | undefined
  readonly latents: WireTensor
  readonly seed: number | bigint | undefined
  readonly warnings: readonly string[]
}

/** Messages from the worker to the host thread. */
export type WorkerMessage =
  | ({ readonly type: "progress"; readonly id: number } & WorkerProgressEvent)
  | { readonly type: "result"; readonly id: number; readonly result: WireResult }
  | { readonly type: "error"; readonly id: number; readonly error: WireError }

/** The plain-data form of a tensor. */
export function toWire(tensor: Tensor): WireTensor {
  return { dtype: tensor.dtype, shape: [...tensor.shape], data: tensor.data }
}

/** A tensor again from its plain-data form (no copy). */
export function fromWire<D extends DType>(wire: WireTensor & { dtype: D }): Tensor<D> {
  return new Tensor(wire.dtype, wire.data as DataTypeMap[D], wire.shape)
}

function isWireTensor(value: unknown): value is WireTensor {
  if (typeof value !== "object" || value === null) return false
  const v = value as Partial<WireTensor>
  return typeof v.dtype === "string" && Array.isArray(v.shape) && ArrayBuffer.isView(v.data)
}

/** Call options with every tensor replaced by its plain-data form (top-level values and arrays of them). */
export function callToWire(call: object): Record<string, unknown> {
  const encode = (value: unknown): unknown => (value instanceof Tensor ? toWire(value) : value instanceof GuidanceChain ? value.toJSON() : value)
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(call)) {
    if (value === undefined) continue
    out[key] = Array.isArray(value) ? value.map(encode) : encode(value)
  }
  return out
}

/** Call options with plain-data tensors made tensors again (inside the worker). */
export function callFromWire(call: Record<string, unknown>): Record<string, unknown> {
  const decode = (value: unknown): unknown => (isWireTensor(value) ? fromWire(value) : value)
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(call)) out[key] = Array.isArray(value) ? value.map(decode) : decode(value)
  return out
}

/**
 * The buffers to transfer with a result. A typed array that is a view into a larger buffer (e.g. Node's pooled
 * `Buffer` memory) is first copied into its own, so that transferring moves exactly the tensor's bytes.
 */
export function prepareTransfer(tensors: readonly (Tensor | undefined)[]): { wires: (WireTensor | undefined)[]; transfer: ArrayBuffer[] } {
  const transfer = new Set<ArrayBuffer>()
  const wires = tensors.map((tensor) => {
    if (tensor === undefined) return undefined
    let data = tensor.data
    const buffer = data.buffer
    if (!(buffer instanceof ArrayBuffer) || data.byteOffset !== 0 || data.byteLength !== buffer.byteLength || transfer.has(buffer)) {
      data = data.slice()
    }
    transfer.add(data.buffer as ArrayBuffer)
    return { dtype: tensor.dtype, shape: [...tensor.shape], data }
  })
  return { wires, transfer: [...transfer] }
}
