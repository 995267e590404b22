// The CLIP vision encoder of an IP-Adapter (`CLIPVisionModelWithProjection` exported to ONNX): pixel_values →
// image_embeds. Reference: diffusers `StableDiffusionXLPAGPipeline.encode_image` (non-hidden-states branch).
import { createSession } from "@pagkit/onnx"
import type { SessionOptions } from "@pagkit/onnx"
import { locateOnnxModel, withLoadScope } from "@pagkit/models-core"
import type { SessionLike } from "@pagkit/models-core"
import { toFloat32 } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { IpAdapterInputError, IpAdapterModelError } from "./errors.js"

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

  /** Loads `model.onnx` from an `image_encoder/` folder. */
  static async load(folder: string, options: SessionOptions = {}): Promise<ImageEncoder> {
    const location = await locateOnnxModel(folder, "")
    // A graph of the wrong kind is released before the error is reported.
    return withLoadScope(async (scope) => new ImageEncoder(scope.own(await createSession(location.modelPath, options))))
  }

  /** `image_embeds` `[N, projectionDim]` (float32) of preprocessed `pixel_values` `[N, 3, S, S]`. */
  async encode(pixelValues: Tensor<"float32">): Promise<Tensor<"float32">> {
    const [, channels, height, width] = pixelValues.shape
    if (pixelValues.rank !== 4 || channels !== 3 || (this.imageSize !== undefined && (height !== this.imageSize || width !== this.imageSize))) {
      throw new IpAdapterInputError(
        `pixel_values must be [N, 3, ${this.imageSize ?? "S"}, ${this.imageSize ?? "S"}], found ${pixelValues.describe()}. Preprocess images with clipPreprocess and the feature extractor's config.`,
      )
    }
    const out = (await this.session.run({ pixel_values: pixelValues }, ["image_embeds"]))["image_embeds"]!
    return toFloat32(out)
  }

  /** Frees the session (when it can be freed). */
  async release(): Promise<void> {
    await (this.session as { release?: () => Promise<void> }).release?.()
  }
}
