// The CLIP vision encoder of an IP-Adapter (`CLIPVisionModelWithProjection` exported to ONNX): pixel_values →
// image_embeds, or (IP-Adapter Plus) the penultimate hidden states. Reference: diffusers
// `StableDiffusionXLPAGPipeline.encode_image` (both branches).
import { readFile } from "node:fs/promises"
import { dirname } from "node:path"
import { createSession, decodeModel, encodeModel } from "@pagkit/onnx"
import type { SessionOptions } from "@pagkit/onnx"
import { locateOnnxModel, withLoadScope } from "@pagkit/models-core"
import type { SessionLike } from "@pagkit/models-core"
import { toFloat32 } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { IpAdapterInputError, IpAdapterModelError } from "./errors.js"
import { PENULTIMATE_HIDDEN_STATES, exposePenultimateHiddenStates } from "./internal/penultimate-output.js"

/** Options of {@link ImageEncoder.load}. */
export interface ImageEncoderOptions extends SessionOptions {
  /**
   * Also output `hidden_states[-2]` (IP-Adapter Plus): the graph is edited at load to expose the penultimate encoder
   * layer's output, so a standard export works. Default false.
   */
  readonly penultimateHiddenStates?: boolean
}

/** The image encoder session and what its graph declares. */
export class ImageEncoder {
  readonly session: SessionLike
  /** Input size the graph fixes (`pixel_values` `[batch, 3, size, size]`), or `undefined` when symbolic. */
  readonly imageSize: number | undefined

  constructor(session: SessionLike) {
    const input = session.inputs.find((i) => i.name === "pixel_values")
    if (input === undefined || !session.outputs.some((o) => o.name === "image_embeds")) {
      throw new IpAdapterModelError(
        `the image encoder graph needs a "pixel_values" input and an "image_embeds" output (CLIPVisionModelWithProjection); found inputs ${session.inputs.map((i) => i.name).join(", ")} and outputs ${session.outputs.map((o) => o.name).join(", ")}.`,
      )
    }
    const size = input.shape[2]
    this.session = session
    this.imageSize = typeof size === "number" ? size : undefined
  }

  /** True when the session outputs the penultimate hidden states (see {@link ImageEncoderOptions}). */
  get hasHiddenStates(): boolean {
    return this.session.outputs.some((o) => o.name === PENULTIMATE_HIDDEN_STATES)
  }

  /** Loads `model.onnx` from an `image_encoder/` folder. */
  static async load(folder: string, options: ImageEncoderOptions = {}): Promise<ImageEncoder> {
    const location = await locateOnnxModel(folder, "")
    const { penultimateHiddenStates, ...sessionOptions } = options
    // A graph of the wrong kind is released before the error is reported.
    if (penultimateHiddenStates !== true) {
      return withLoadScope(async (scope) => new ImageEncoder(scope.own(await createSession(location.modelPath, sessionOptions))))
    }
    const model = decodeModel(new Uint8Array(await readFile(location.modelPath)))
    exposePenultimateHiddenStates(model, location.modelPath)
    // weights in model.onnx_data stay where they are: the edited graph points at them through externalDataDir
    return withLoadScope(async (scope) =>
      new ImageEncoder(scope.own(await createSession(encodeModel(model), { externalDataDir: dirname(location.modelPath), ...sessionOptions }))),
    )
  }

  /** `image_embeds` `[N, projectionDim]` (float32) of preprocessed `pixel_values` `[N, 3, S, S]`. */
  async encode(pixelValues: Tensor<"float32">): Promise<Tensor<"float32">> {
    this.#check(pixelValues)
    const out = (await this.session.run({ pixel_values: pixelValues }, ["image_embeds"]))["image_embeds"]!
    return toFloat32(out)
  }

  /**
   * `hidden_states[-2]` `[N, seq, hidden]` (float32) of preprocessed `pixel_values`, as diffusers' `encode_image`
   * takes for IP-Adapter Plus. Needs an encoder loaded with `penultimateHiddenStates: true`.
   */
  async encodeHiddenStates(pixelValues: Tensor<"float32">): Promise<Tensor<"float32">> {
    if (!this.hasHiddenStates) {
      throw new IpAdapterModelError(
        `this image encoder session has no "${PENULTIMATE_HIDDEN_STATES}" output; load it with ImageEncoder.load(folder, { penultimateHiddenStates: true }) (loadIpAdapter does so for Plus adapters).`,
      )
    }
    this.#check(pixelValues)
    const out = (await this.session.run({ pixel_values: pixelValues }, [PENULTIMATE_HIDDEN_STATES]))[PENULTIMATE_HIDDEN_STATES]!
    return toFloat32(out)
  }

  #check(pixelValues: Tensor<"float32">): void {
    const [, channels, height, width] = pixelValues.shape
    if (pixelValues.rank !== 4 || channels !== 3 || (this.imageSize !== undefined && (height !== this.imageSize || width !== this.imageSize))) {
      throw new IpAdapterInputError(
        `pixel_values must be [N, 3, ${this.imageSize ?? "S"}, ${this.imageSize ?? "S"}], found ${pixelValues.describe()}. Preprocess images with clipPreprocess and the feature extractor's config.`,
      )
    }
  }

  /** Frees the session (when it can be freed). */
  async release(): Promise<void> {
    await (this.session as { release?: () => Promise<void> }).release?.()
  }
}
