import type * as ort from "onnxruntime-node"
import type { Tensor } from "@pagkit/tensor"
import { InputError, RunError } from "../errors.js"
import { fromOrtTensor, toOrtFeed } from "./convert.js"
import { describeIo, toIoInfo } from "./io-info.js"
import type { IoInfo } from "./io-info.js"

/** Options of {@link ModelSession} beyond what onnxruntime takes. */
export interface ModelSessionConfig {
  /** Keep float16 outputs as half bit patterns (`float16` tensors) instead of float32. Default false. */
  readonly keepFloat16Outputs?: boolean
  /** Names the model in messages when it was loaded from bytes (e.g. `the hooked graph of "unet/model.onnx"`). */
  readonly label?: string
}

/**
 * One loaded ONNX model. Feeds are converted to what the model's metadata declares
 * (float32 <-> float16 bits, float64, int32 <-> int64, rank-0 <-> rank-1 single values), outputs
 * come back as `@pagkit/tensor` tensors. Create with {@link createSession}.
 *
 * @example
 * const unet = await createSession("tiny-sdxl/unet/model.onnx")
 * const { out_sample } = await unet.run({ sample, timestep, encoder_hidden_states, text_embeds, time_ids })
 */
export class ModelSession {
  /** The model file, when loaded from a path. */
  readonly path: string | undefined
  /** Declared inputs, in graph order. */
  readonly inputs: readonly IoInfo[]
  /** Declared outputs, in graph order. */
  readonly outputs: readonly IoInfo[]
  readonly #session: ort.InferenceSession
  readonly #config: ModelSessionConfig
  #released = false

  /** Wraps an onnxruntime session (use {@link createSession} rather than calling this). */
  constructor(session: ort.InferenceSession, path: string | undefined, config: ModelSessionConfig = {}) {
    this.#session = session
    this.#config = config
    this.path = path
    this.inputs = Object.freeze(session.inputMetadata.map(toIoInfo))
    this.outputs = Object.freeze(session.outputMetadata.map(toIoInfo))
  }

  /** True when the model has an input of this name. */
  hasInput(name: string): boolean {
    return this.inputs.some((info) => info.name === name)
  }

  /** Declared input of this name, or `undefined`. */
  input(name: string): IoInfo | undefined {
    return this.inputs.find((info) => info.name === name)
  }

  /** Declared output of this name, or `undefined`. */
  output(name: string): IoInfo | undefined {
    return this.outputs.find((info) => info.name === name)
  }

  /**
   * Runs the model. Every declared input must be fed; unknown names are errors.
   * Returns the requested outputs (all by default) keyed by name.
   */
  async run(feeds: Readonly<Record<string, Tensor>>, outputNames?: readonly string[]): Promise<Record<string, Tensor>> {
    if (this.#released) {
      throw new RunError("ONNX_SESSION_RELEASED", `session${this.#label()} was released; create a new session to run it again.`)
    }
    const ortFeeds = this.#convertFeeds(feeds)
    const fetches = outputNames ?? this.outputs.map((o) => o.name)
    for (const name of fetches) {
      if (this.output(name) === undefined) {
        throw new RunError(
          "ONNX_OUTPUT_UNKNOWN",
          `model${this.#label()} has no output "${name}"; its outputs are ${this.outputs.map((o) => o.name).join(", ")}.`,
        )
      }
    }
    let results: ort.InferenceSession.ReturnType
    try {
      results = await this.#session.run(ortFeeds, [...fetches])
    } catch (error) {
      throw new RunError(
        "ONNX_RUN_FAILED",
        `onnxruntime failed to run model${this.#label()} with feeds ${describeFeeds(feeds)}: ${String((error as Error).message ?? error)}`,
        { cause: error },
      )
    }
    const out: Record<string, Tensor> = {}
    for (const name of fetches) {
      const value = results[name]
      if (value === undefined) continue
      out[name] = fromOrtTensor(value, name, { keepFloat16: this.#config.keepFloat16Outputs === true })
    }
    return out
  }

  /** Frees the native session. Further runs throw. */
  async release(): Promise<void> {
    if (this.#released) return
    this.#released = true
    await this.#session.release()
  }

  #label(): string {
    if (this.path !== undefined) return ` ${this.path}`
    return this.#config.label === undefined ? "" : ` (${this.#config.label})`
  }

  #convertFeeds(feeds: Readonly<Record<string, Tensor>>): Record<string, ort.Tensor> {
    const names = this.inputs.map((i) => i.name)
    for (const name of Object.keys(feeds)) {
      if (!names.includes(name)) {
        throw new InputError(
          "ONNX_INPUT_UNKNOWN",
          name,
          `model${this.#label()} has no input "${name}"; expected only ${this.inputs.map((i) => `${i.name}: ${describeIo(i)}`).join(", ")}. Remove it or check the input name.`,
        )
      }
    }
    const converted: Record<string, ort.Tensor> = {}
    for (const info of this.inputs) {
      const tensor = feeds[info.name]
      if (tensor === undefined) {
        throw new InputError(
          "ONNX_INPUT_MISSING",
          info.name,
          `model${this.#label()} needs input "${info.name}" (${describeIo(info)}) but it was not fed; fed: ${Object.keys(feeds).join(", ") || "nothing"}.`,
        )
      }
      converted[info.name] = toOrtFeed(tensor, info)
    }
    return converted
  }
}

function describeFeeds(feeds: Readonly<Record<string, Tensor>>): string {
  return Object.entries(feeds)
    .map(([name, t]) => `${name}: ${t.describe()}`)
    .join(", ")
}
