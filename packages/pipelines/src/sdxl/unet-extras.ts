import type { PlannedPass, StepContext } from "@pagkit/guidance"
import { MultiControlNet, prepareControlImage } from "@pagkit/controlnet"
import type { ControlNet, PerControlNet } from "@pagkit/controlnet"
import { IP_ADAPTER_SCALE_INPUT, IP_ADAPTER_TOKENS_INPUT } from "@pagkit/ip-adapter"
import type { IpAdapter, IpAdapterUnet } from "@pagkit/ip-adapter"
import type { SessionLike } from "@pagkit/models-core"
import type { Tensor } from "@pagkit/tensor"
import { InvalidOptionError } from "../errors.js"
import { readImageInput } from "../image-input.js"
import type { ImageInput } from "../image-input.js"
import type { RowSource } from "../row-inputs.js"

/** Inputs an adapter adds to every UNet call of a run. */
export interface UnetExtras {
  /** Per-row inputs laid out like the text embeddings (IP-Adapter image tokens). */
  readonly rowSources: Readonly<Record<string, RowSource>>
  /** Inputs that are not per row (IP-Adapter scale). */
  readonly shared: Readonly<Record<string, Tensor>>
  /** Inputs computed per pass from the pass's own inputs (ControlNet residuals). */
  readonly perPass?: (pass: PlannedPass, inputs: Readonly<Record<string, Tensor>>, ctx: StepContext) => Promise<Record<string, Tensor>>
}

/** An IP-Adapter loaded into a pipeline: the adapter and the UNet graph with its cross-attention hook. */
export interface LoadedIpAdapter {
  readonly adapter: IpAdapter
  readonly unet: IpAdapterUnet
}

/** IP-Adapter call options (diffusers' `ip_adapter_image`, `ip_adapter_image_embeds`). */
export interface IpAdapterCallOptions {
  /** The image prompt of a loaded IP-Adapter (`ip_adapter_image`): a file path, encoded bytes or a tensor in [0, 1]. */
  readonly ipAdapterImage?: ImageInput
  /** Precomputed image embeddings `[2·B, n, D]` (`[negative; positive]`) with CFG, `[B, n, D]` without. */
  readonly ipAdapterImageEmbeds?: Tensor<"float32">
}

/** ControlNet call options (diffusers' names in camelCase). */
export interface ControlNetCallOptions {
  /** Weight of the ControlNet residuals, one number or one per ControlNet (`controlnet_conditioning_scale`); default 1. */
  readonly controlnetConditioningScale?: PerControlNet
  /** Fraction of the steps after which the ControlNet starts acting (`control_guidance_start`); default 0. */
  readonly controlGuidanceStart?: PerControlNet
  /** Fraction of the steps after which the ControlNet stops acting (`control_guidance_end`); default 1. */
  readonly controlGuidanceEnd?: PerControlNet
}

/** IP-Adapter image tokens for the run (`[neg, pos, pos]` rows come from the planner's layout). */
export async function ipAdapterExtras(
  ip: LoadedIpAdapter,
  options: IpAdapterCallOptions,
  run: { readonly doCfg: boolean; readonly batchSize: number },
): Promise<Pick<UnetExtras, "rowSources" | "shared">> {
  if (options.ipAdapterImage === undefined && options.ipAdapterImageEmbeds === undefined) {
    throw new InvalidOptionError(
      `an IP-Adapter is loaded, so the call needs ipAdapterImage (or ipAdapterImageEmbeds). Pass one, or unloadIpAdapter() first.`,
    )
  }
  const image = options.ipAdapterImage === undefined ? undefined : await readImageInput(options.ipAdapterImage, "ipAdapterImage")
  const embeds = await ip.adapter.prepareImageEmbeds({
    ...(image === undefined ? {} : { image }),
    ...(options.ipAdapterImageEmbeds === undefined ? {} : { imageEmbeds: options.ipAdapterImageEmbeds }),
    doClassifierFreeGuidance: run.doCfg,
    batchSize: run.batchSize,
  })
  const cond = ip.adapter.imageTokens(embeds.positive)
  const uncond = ip.adapter.imageTokens(embeds.negative)
  const feeds = ip.unet.feeds(cond) // checks the token shape against the UNet
  return {
    rowSources: { [IP_ADAPTER_TOKENS_INPUT]: { cond, uncond } },
    shared: { [IP_ADAPTER_SCALE_INPUT]: feeds[IP_ADAPTER_SCALE_INPUT]! },
  }
}

/** Prepares the control images (one per ControlNet) at the output size. */
export async function prepareControlImages(
  images: ImageInput | readonly ImageInput[],
  controlnets: readonly ControlNet[],
  size: { readonly height?: number | undefined; readonly width?: number | undefined; readonly vaeScaleFactor: number; readonly batchSize: number; readonly numImagesPerPrompt: number },
): Promise<Tensor<"float32">[]> {
  const list = Array.isArray(images) && !(images instanceof Uint8Array) ? (images as readonly ImageInput[]) : [images as ImageInput]
  if (list.length !== controlnets.length) {
    throw new InvalidOptionError(`${controlnets.length} ControlNet(s) need as many control images, found ${list.length}.`)
  }
  return Promise.all(
    list.map(async (input, k) =>
      prepareControlImage(await readImageInput(input, `control image ${k}`), {
        height: size.height, width: size.width, vaeScaleFactor: size.vaeScaleFactor,
        batchSize: size.batchSize, numImagesPerPrompt: size.numImagesPerPrompt,
        channels: controlnets[k]!.conditioningChannels,
      }),
    ),
  )
}

/** ControlNet residuals per pass: the ControlNet runs once per distinct row and the perturbed rows reuse the cond ones. */
export function controlNetExtras(
  unet: Pick<SessionLike, "inputs">,
  controlnets: readonly ControlNet[],
  controlImages: readonly Tensor<"float32">[],
  options: ControlNetCallOptions,
): Pick<UnetExtras, "perPass"> {
  const control = new MultiControlNet(unet, controlnets, {
    ...(options.controlnetConditioningScale === undefined ? {} : { conditioningScale: options.controlnetConditioningScale }),
    ...(options.controlGuidanceStart === undefined ? {} : { guidanceStart: options.controlGuidanceStart }),
    ...(options.controlGuidanceEnd === undefined ? {} : { guidanceEnd: options.controlGuidanceEnd }),
  })
  return {
    perPass: (pass, inputs, ctx) =>
      control.residuals({
        sample: inputs["sample"] as Tensor<"float32">,
        timestep: ctx.timestep,
        encoderHiddenStates: inputs["encoder_hidden_states"] as Tensor<"float32">,
        textEmbeds: inputs["text_embeds"] as Tensor<"float32">,
        timeIds: inputs["time_ids"] as Tensor<"float32">,
        controlImages,
        stepIndex: ctx.stepIndex,
        numSteps: ctx.numSteps,
        rows: pass.rows,
      }),
  }
}
