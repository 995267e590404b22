// A ControlNet ONNX export (diffusers `ControlNetModel` with `sample, timestep, encoder_hidden_states,
// controlnet_cond, conditioning_scale, text_embeds, time_ids` → `down_block_res_sample_*`, `mid_block_res_sample`).
import path from "node:path"
import { createSession } from "@pagkit/onnx"
import type { SessionOptions } from "@pagkit/onnx"
import { locateOnnxModel, readJsonFile, withLoadScope } from "@pagkit/models-core"
import type { SessionLike } from "@pagkit/models-core"
import { Tensor, toFloat32 } from "@pagkit/tensor"
import { ControlImageError, ControlNetModelError } from "./errors.js"

const DOWN_OUTPUT = /^down_block_res_sample_(\d+)$/
const MID_OUTPUT = "mid_block_res_sample"
const REQUIRED_INPUTS = ["sample", "timestep", "encoder_hidden_states", "controlnet_cond"]

/** One batched ControlNet call; per-row tensors share the batch size B. */
export interface ControlNetRunInput {
  /** Scaled latent model input `[B, 4, h, w]`. */
  readonly sample: Tensor<"float32">
  readonly timestep: number
  readonly encoderHiddenStates: Tensor<"float32">
  /** Pooled text embeddings `[B, P]` (SDXL). */
  readonly textEmbeds?: Tensor<"float32"> | undefined
  /** `[B, 6]` (SDXL). */
  readonly timeIds?: Tensor<"float32"> | undefined
  /** Prepared control images `[B, 3, H, W]` in [0, 1]. */
  readonly controlImage: Tensor<"float32">
  /** diffusers' `conditioning_scale` (already multiplied by the window's keep factor). */
  readonly conditioningScale: number
}

/** A loaded ControlNet: its session, config and the residual outputs it produces. */
export class ControlNet {
  readonly session: SessionLike
  /** `config.json` of the folder (`{}` when absent). */
  readonly config: Readonly<Record<string, unknown>>
  /** Residual outputs in order: `down_block_res_sample_0…n`, then `mid_block_res_sample`. */
  readonly residualOutputs: readonly string[]
  /** `conditioning_channels` (3 unless the config says otherwise). */
  readonly conditioningChannels: number
  /** Control image pixels per latent cell, 2^(len(conditioning_embedding_out_channels) − 1) (8 for SDXL); `undefined` without a config. */
  readonly controlScaleFactor: number | undefined
  /** Whether the graph takes `conditioning_scale` (else residuals are scaled here, as diffusers does inside the model). */
  readonly hasConditioningScaleInput: boolean

  constructor(session: SessionLike, config: Readonly<Record<string, unknown>> = {}) {
    const inputs = session.inputs.map((i) => i.name)
    const missing = REQUIRED_INPUTS.filter((n) => !inputs.includes(n))
    const down = session.outputs
      .map((o) => o.name)
      .filter((n) => DOWN_OUTPUT.test(n))
      .sort((a, b) => Number(DOWN_OUTPUT.exec(a)![1]) - Number(DOWN_OUTPUT.exec(b)![1]))
    const hasMid = session.outputs.some((o) => o.name === MID_OUTPUT)
    if (missing.length > 0 || down.length === 0 || !hasMid) {
      throw new ControlNetModelError(
        `not a ControlNet export: expected inputs ${REQUIRED_INPUTS.join(", ")} and outputs down_block_res_sample_0…, ${MID_OUTPUT}; ` +
          `found inputs ${inputs.join(", ")} and outputs ${session.outputs.map((o) => o.name).join(", ")}.`,
      )
    }
    this.session = session
    this.config = config
    this.residualOutputs = [...down, MID_OUTPUT]
    const channels = config["conditioning_channels"]
    this.conditioningChannels = typeof channels === "number" ? channels : 3
    const embedding = config["conditioning_embedding_out_channels"]
    this.controlScaleFactor = Array.isArray(embedding) && embedding.length > 0 ? 2 ** (embedding.length - 1) : undefined
    this.hasConditioningScaleInput = inputs.includes("conditioning_scale")
  }

  /** Frees the session (when it can be freed). */
  async release(): Promise<void> {
    await (this.session as { release?: () => Promise<void> }).release?.()
  }

  /** The timestep as the graph declares it (rank 0, `[1]` or `[B]`; float or int). */
  #timestepFeed(timestep: number, batch: number): Tensor {
    const info = this.session.inputs.find((i) => i.name === "timestep")!
    const shape = info.shape.length === 0 ? [] : [typeof info.shape[0] === "number" ? info.shape[0] : batch]
    const size = shape.length === 0 ? 1 : shape[0]!
    if (info.dtype === "int64") return new Tensor("int64", new BigInt64Array(size).fill(BigInt(Math.trunc(timestep))), shape)
    if (info.dtype === "int32") return new Tensor("int32", new Int32Array(size).fill(Math.trunc(timestep)), shape)
    return new Tensor("float32", new Float32Array(size).fill(timestep), shape)
  }

  /** Runs the ControlNet; returns its residuals by output name (`[B, C, h', w']` float32), scaled. */
  async run(input: ControlNetRunInput): Promise<Record<string, Tensor<"float32">>> {
    const batch = input.sample.shape[0]!
    const [, , h, w] = input.sample.shape as [number, number, number, number]
    const image = input.controlImage
    if (image.rank !== 4 || image.shape[0] !== batch || image.shape[1] !== this.conditioningChannels) {
      throw new ControlImageError(
        `the ControlNet needs control images [${batch}, ${this.conditioningChannels}, H, W] for ${batch} rows, found ${image.describe()}.`,
      )
    }
    const factor = this.controlScaleFactor
    if (factor !== undefined && (image.shape[2] !== h * factor || image.shape[3] !== w * factor)) {
      throw new ControlImageError(
        `control image size ${image.shape[3]}×${image.shape[2]} does not fit the latents ${w}×${h}: expected ${w * factor}×${h * factor} (the output size). Prepare it with prepareControlImage at the pipeline's height and width.`,
      )
    }
    const feeds: Record<string, Tensor> = {
      sample: input.sample,
      timestep: this.#timestepFeed(input.timestep, batch),
      encoder_hidden_states: input.encoderHiddenStates,
      controlnet_cond: image,
    }
    if (this.hasConditioningScaleInput) feeds["conditioning_scale"] = new Tensor("float32", new Float32Array([input.conditioningScale]), [])
    if (input.textEmbeds !== undefined) feeds["text_embeds"] = input.textEmbeds
    if (input.timeIds !== undefined) feeds["time_ids"] = input.timeIds
    for (const info of this.session.inputs) {
      if (feeds[info.name] === undefined) throw new ControlNetModelError(`the ControlNet graph needs input "${info.name}", which was not given.`)
    }
    const result = await this.session.run(feeds, this.residualOutputs)
    const out: Record<string, Tensor<"float32">> = {}
    // torch casts the Python float to float32 before multiplying a float32 tensor by it
    const scale = Math.fround(input.conditioningScale)
    for (const name of this.residualOutputs) {
      const residual = toFloat32(result[name]!)
      // diffusers ControlNetModel.forward: `sample * conditioning_scale` (float32), when the graph does not do it
      out[name] = this.hasConditioningScaleInput
        ? residual
        : new Tensor("float32", residual.data.map((v) => v * scale), residual.shape)
    }
    return out
  }
}

/** Options of {@link loadControlNet}. */
export interface LoadControlNetOptions {
  /** onnxruntime session options for the ControlNet (execution providers, threads, …). */
  readonly sessionOptions?: SessionOptions
}

/**
 * Loads a ControlNet folder (`model.onnx`, external data beside it, `config.json`).
 *
 * @example
 * const controlnet = await loadControlNet("models/tiny-controlnet-sdxl")
 */
export async function loadControlNet(folder: string, options: LoadControlNetOptions = {}): Promise<ControlNet> {
  const location = await locateOnnxModel(folder, "")
  const config = (await readJsonFile(path.join(path.dirname(location.modelPath), "config.json"), { required: false })) ?? {}
  // A graph the ControlNet cannot use is released before the error is reported.
  return withLoadScope(async (scope) => {
    const session = scope.own(await createSession(location.modelPath, options.sessionOptions ?? {}))
    return new ControlNet(session, config as Record<string, unknown>)
  })
}
