import type { PlannedPass, StepContext } from "@pagkit/guidance"
import { MultiControlNet, prepareControlImage } from "@pagkit/controlnet"
import type { ControlNet, PerControlNet } from "@pagkit/controlnet"
import { ipAdapterInputNames } from "@pagkit/ip-adapter"
import type { IpAdapter, IpAdapterUnet, LoadIpAdapterOptions } from "@pagkit/ip-adapter"
import { lanczosResizer, preprocessMask } from "@pagkit/models-core"
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

/**
 * What `loadIpAdapter` takes: diffusers' `load_ip_adapter` with model folders and files instead of hub ids — one
 * weights file, or a list of them (several IP-Adapters at once, sharing the image encoder and feature extractor).
 */
export interface IpAdapterLoadOptions extends Omit<LoadIpAdapterOptions, "weights"> {
  readonly weights: string | readonly string[]
}

/** IP-Adapters loaded into a pipeline: the adapters and the UNet graph with their cross-attention hook. */
export interface LoadedIpAdapter {
  /** The first (or only) adapter. */
  readonly adapter: IpAdapter
  /** Every adapter, in the order of `weights` (and of scales, images, embeddings and masks). */
  readonly adapters: readonly IpAdapter[]
  readonly unet: IpAdapterUnet
}

/** One adapter's image(s): an image, or a list of images (several images for one adapter). */
export type IpAdapterImageInput = ImageInput | readonly ImageInput[]

/** IP-Adapter call options (diffusers' `ip_adapter_image`, `ip_adapter_image_embeds`, `ip_adapter_masks`). */
export interface IpAdapterCallOptions {
  /** One adapter: its image(s); several adapters: a list with one entry (an image or a list of images) per adapter. */
  readonly ipAdapterImage?: IpAdapterImageInput | readonly IpAdapterImageInput[]
  /**
   * Precomputed image embeddings, one tensor per adapter (a tensor alone for one adapter), diffusers' layout:
   * `[2·B, n, D]` (`[negative; positive]`) with CFG, `[B, n, D]` without; Plus adapters `[…, n, seq, D]` hidden states.
   */
  readonly ipAdapterImageEmbeds?: Tensor<"float32"> | readonly Tensor<"float32">[]
  /**
   * diffusers' `cross_attention_kwargs={"ip_adapter_masks": …}`: one mask per adapter (undefined = none), white where
   * the adapter acts. An image (path, bytes, tensor) is preprocessed as `IPAdapterMaskProcessor` (grayscale, Lanczos
   * to the output size, binarized); a tensor `[1, 1, H, W]` is taken as already preprocessed. One image per masked adapter.
   */
  readonly ipAdapterMasks?: readonly (ImageInput | undefined)[]
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

function isImageList(value: unknown): value is readonly unknown[] {
  return Array.isArray(value)
}

/** Reads one adapter's image entry as a list of `[N, C, H, W]` tensors. */
async function adapterImages(entry: IpAdapterImageInput, k: number): Promise<Tensor<"float32">[]> {
  const list = isImageList(entry) ? entry : [entry as ImageInput]
  if (list.length === 0) throw new InvalidOptionError(`ipAdapterImage[${k}] is an empty list; give at least one image for IP-Adapter ${k}.`)
  return Promise.all(list.map((image, i) => readImageInput(image, `ipAdapterImage[${k}]${isImageList(entry) ? `[${i}]` : ""}`)))
}

/** diffusers' `ip_adapter_image` normalization: not a list → one entry; then one entry per adapter. */
function perAdapter<T>(value: T | readonly T[], count: number, name: string, isList: (v: unknown) => boolean): readonly T[] {
  const list = (isList(value) ? value : [value]) as readonly T[]
  if (list.length !== count) {
    throw new InvalidOptionError(
      `${name} must have one entry per loaded IP-Adapter: found ${list.length} for ${count} adapter(s)` +
        (count > 1 ? `. Pass a list with one entry per adapter (an entry may itself be a list of images).` : `. For several images for one adapter, pass [[image1, image2]].`),
    )
  }
  return list
}

/** IP-Adapter masks for the run: one `[1, 1, H, W]` (or undefined) per adapter. */
async function prepareMasks(
  masks: readonly (ImageInput | undefined)[],
  ip: LoadedIpAdapter,
  size: { readonly height: number; readonly width: number; readonly vaeScaleFactor: number },
): Promise<(Tensor<"float32"> | undefined)[]> {
  if (!Array.isArray(masks) || masks.length !== ip.adapters.length) {
    throw new InvalidOptionError(
      `ipAdapterMasks must be a list with one mask per loaded IP-Adapter (undefined for none): found ${Array.isArray(masks) ? masks.length : typeof masks} for ${ip.adapters.length}.`,
    )
  }
  return Promise.all(
    masks.map(async (mask, k) => {
      if (mask === undefined) return undefined
      if (typeof mask !== "string" && !(mask instanceof Uint8Array) && mask.rank === 4 && mask.shape[0] === 1 && mask.shape[1] === 1) return mask
      const image = await readImageInput(mask, `ipAdapterMasks[${k}]`, true)
      if (image.shape[0] !== 1) {
        throw new InvalidOptionError(`ipAdapterMasks[${k}] holds ${image.shape[0]} masks; give one mask per adapter (load an adapter once per masked image).`)
      }
      return preprocessMask(image, { vaeScaleFactor: size.vaeScaleFactor, height: size.height, width: size.width, resize: lanczosResizer })
    }),
  )
}

/** IP-Adapter image tokens for the run, per adapter (`[neg, pos, pos]` rows come from the planner's layout), scales and masks. */
export async function ipAdapterExtras(
  ip: LoadedIpAdapter,
  options: IpAdapterCallOptions,
  run: {
    readonly doCfg: boolean
    readonly batchSize: number
    /** The starting latents' shape `[B, C, h, w]` and the output size, for masks. */
    readonly latentShape: readonly number[]
    readonly height: number
    readonly width: number
    readonly vaeScaleFactor: number
  },
): Promise<Pick<UnetExtras, "rowSources" | "shared">> {
  if (options.ipAdapterImage === undefined && options.ipAdapterImageEmbeds === undefined) {
    throw new InvalidOptionError(
      `an IP-Adapter is loaded, so the call needs ipAdapterImage (or ipAdapterImageEmbeds). Pass one, or unloadIpAdapter() first.`,
    )
  }
  const count = ip.adapters.length
  const images =
    options.ipAdapterImage === undefined
      ? undefined
      : perAdapter(options.ipAdapterImage as IpAdapterImageInput | readonly IpAdapterImageInput[], count, "ipAdapterImage", isImageList)
  const embeds = options.ipAdapterImageEmbeds === undefined ? undefined : perAdapter(options.ipAdapterImageEmbeds, count, "ipAdapterImageEmbeds", isImageList)
  const masks =
    options.ipAdapterMasks === undefined ? undefined : await prepareMasks(options.ipAdapterMasks, ip, { height: run.height, width: run.width, vaeScaleFactor: run.vaeScaleFactor })
  const rowSources: Record<string, RowSource> = {}
  const conds: Tensor<"float32">[] = []
  for (let k = 0; k < count; k++) {
    const adapter = ip.adapters[k]!
    const image = images === undefined ? undefined : await adapterImages(images[k]!, k)
    const prepared = await adapter.prepareImageEmbeds({
      ...(image === undefined ? {} : { image }),
      ...(embeds === undefined ? {} : { imageEmbeds: embeds[k]! }),
      doClassifierFreeGuidance: run.doCfg,
      batchSize: run.batchSize,
    })
    const perRow = prepared.positive.shape[1]! // images for this adapter
    if (masks?.[k] !== undefined && perRow !== 1) {
      throw new InvalidOptionError(
        `IP-Adapter ${k} has ${perRow} images and a mask: with masks, diffusers attends each image on its own; load the adapter once per image, each with its image, mask and scale.`,
      )
    }
    const cond = await adapter.projectImageTokens(prepared.positive)
    const uncond = await adapter.projectImageTokens(prepared.negative)
    rowSources[ipAdapterInputNames(k).tokens] = { cond, uncond }
    conds.push(cond)
  }
  // checks the token shapes against the UNet; scales and masks are the same for every row
  const feeds = ip.unet.feeds(conds, { ...(masks === undefined ? {} : { masks }), sampleShape: run.latentShape })
  const shared: Record<string, Tensor> = {}
  for (const [name, value] of Object.entries(feeds)) if (!(name in rowSources)) shared[name] = value
  return { rowSources, shared }
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
