// A UNet with the IP-Adapter hook installed (alongside other hooks such as PAG's identity attention), its
// per-layer scale, and unloading back to the plain graph (diffusers `set_ip_adapter_scale`, `unload_ip_adapter`).
import { loadHookedModel } from "@pagkit/onnx"
import type { HookKind, HookedModel, HookedModelOptions } from "@pagkit/onnx"
import { Tensor } from "@pagkit/tensor"
import { IpAdapterInputError } from "./errors.js"
import { IP_ADAPTER_KIND, ipAdapterAttention, ipAdapterInputNames } from "./ip-adapter-attention.js"
import type { IpAdapter } from "./ip-adapter.js"
import { ipAdapterScaleTensor } from "./ip-adapter-scale.js"
import type { IpAdapterScaleInput } from "./ip-adapter-scale.js"

/** Options of {@link loadIpAdapterUnet}: session options plus the other hook kinds to install. */
export interface IpAdapterUnetOptions extends Omit<HookedModelOptions, "hooks"> {
  /** Other hook kinds (e.g. `identityAttention()` for PAG), installed before the IP-Adapter's. */
  readonly hooks?: readonly HookKind[]
  /** Install mask inputs (diffusers' `ip_adapter_masks`); see {@link ipAdapterAttention}. Default false. */
  readonly masks?: boolean
}

/** Ones at the latent's size: the "no mask" feed (bit-identical to the unmasked graph). */
function noMask(sampleShape: readonly number[] | undefined): Tensor<"float32"> {
  if (sampleShape === undefined || sampleShape.length !== 4) {
    throw new IpAdapterInputError(
      `an adapter without a mask on a UNet with mask inputs needs the sample shape [B, C, h, w] (found ${JSON.stringify(sampleShape)}): pass feeds(tokens, { sampleShape }).`,
    )
  }
  const [, , h, w] = sampleShape as [number, number, number, number]
  return new Tensor("float32", new Float32Array(h * w).fill(1), [1, 1, h, w])
}

/**
 * A hooked UNet session with the decoupled cross-attention of one or several IP-Adapters. Feed
 * {@link IpAdapterUnet.feeds} with every call: image tokens per adapter and row (`ip_adapter_image_tokens`,
 * `ip_adapter_image_tokens_1`, …, per-row like `encoder_hidden_states`), the scales (shared) and, when installed
 * with `masks`, the masks. The scale starts at 1.0 for every adapter, as in diffusers.
 *
 * @example
 * const unet = await loadIpAdapterUnet("tiny-sdxl/unet/model.onnx", ip, { hooks: [identityAttention()] })
 * unet.setIpAdapterScale(0.8)
 * const out = await unet.model.run({ ...feeds, ...unet.feeds(imageTokensForRows(tokens, rows)), pag_gates })
 */
export class IpAdapterUnet {
  readonly model: HookedModel
  /** The adapters, in the order of their inputs. */
  readonly ipAdapters: readonly IpAdapter[]
  /** Cross-attention layers, in the order of the scale inputs. */
  readonly layers: readonly string[]
  /** True when the graph has mask inputs. */
  readonly masks: boolean
  readonly #options: IpAdapterUnetOptions
  readonly #source: string
  #scales: Tensor<"float32">[]

  constructor(model: HookedModel, ipAdapter: IpAdapter | readonly IpAdapter[], source: string, options: IpAdapterUnetOptions = {}) {
    this.model = model
    this.ipAdapters = Array.isArray(ipAdapter) ? [...(ipAdapter as readonly IpAdapter[])] : [ipAdapter as IpAdapter]
    this.layers = model.layers(IP_ADAPTER_KIND)
    this.masks = options.masks === true
    this.#source = source
    this.#options = options
    this.#scales = this.ipAdapters.map(() => ipAdapterScaleTensor(this.layers, 1))
  }

  /** The first (or only) adapter. */
  get ipAdapter(): IpAdapter {
    return this.ipAdapters[0]!
  }

  /**
   * Sets the scales as diffusers' `set_ip_adapter_scale`: one scale (one adapter), or a list with one per adapter;
   * each a number or a per-block map (see {@link IpAdapterScaleInput}; unnamed layers get 0).
   *
   * @example
   * unet.setIpAdapterScale([0.7, { up: { block_0: [0, 1, 0] } }]) // two adapters
   */
  setIpAdapterScale(scale: IpAdapterScaleInput | readonly IpAdapterScaleInput[]): void {
    const list: readonly IpAdapterScaleInput[] = Array.isArray(scale) ? (scale as readonly IpAdapterScaleInput[]) : [scale as IpAdapterScaleInput]
    if (list.length !== this.ipAdapters.length) {
      throw new IpAdapterInputError(
        `${list.length} IP-Adapter scale(s) given for ${this.ipAdapters.length} loaded IP-Adapter(s) (diffusers: "Cannot assign ${list.length} scale_configs to ${this.ipAdapters.length} IP-Adapter"). Pass a list with one scale per adapter.`,
      )
    }
    list.forEach((s, k) => {
      if (Array.isArray(s)) {
        throw new IpAdapterInputError(
          `IP-Adapter scale ${k} is a list ${JSON.stringify(s)}: per-image scales (diffusers, with masks and several images for one adapter) are not supported; load the adapter once per image (one image, one mask, one scale each).`,
        )
      }
    })
    this.#scales = list.map((s) => ipAdapterScaleTensor(this.layers, s))
  }

  /** The current `ip_adapter_scale` input `[layers]` of the first adapter. */
  get scale(): Tensor<"float32"> {
    return this.#scales[0]!
  }

  /** The current scale inputs, one `[layers]` per adapter. */
  get scales(): readonly Tensor<"float32">[] {
    return this.#scales
  }

  /** Scales per layer path (first adapter). */
  get scaleByLayer(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.layers.map((l, i) => [l, this.#scales[0]!.data[i]!]))
  }

  /**
   * Graph inputs for one call: image tokens per adapter (`[rows, T_k, C]`, one row per UNet row; a tensor for one
   * adapter, a list for several), the scales, and with masks each adapter's mask `[1, 1, H, W]` (at the output
   * image's size, 1 = where the adapter acts). An adapter without a mask gets ones at the latent's size
   * (`sampleShape` `[B, C, h, w]`), whose token grids need no padding, so it acts everywhere exactly as unmasked.
   */
  feeds(
    rowTokens: Tensor<"float32"> | readonly Tensor<"float32">[],
    options: { readonly masks?: readonly (Tensor<"float32"> | undefined)[]; readonly sampleShape?: readonly number[] } = {},
  ): Record<string, Tensor> {
    const list = Array.isArray(rowTokens) ? (rowTokens as readonly Tensor<"float32">[]) : [rowTokens as Tensor<"float32">]
    if (list.length !== this.ipAdapters.length) {
      throw new IpAdapterInputError(`${list.length} image-token tensor(s) given for ${this.ipAdapters.length} IP-Adapter(s); pass one per adapter.`)
    }
    const masks = options.masks
    if (masks !== undefined && !this.masks && masks.some((m) => m !== undefined)) {
      throw new IpAdapterInputError("IP-Adapter masks were given, but this UNet was loaded without mask inputs; load it with { masks: true }.")
    }
    if (masks !== undefined && masks.length !== this.ipAdapters.length) {
      throw new IpAdapterInputError(`${masks.length} IP-Adapter mask(s) given for ${this.ipAdapters.length} IP-Adapter(s); pass one per adapter (undefined for none).`)
    }
    const feeds: Record<string, Tensor> = {}
    list.forEach((tokens, k) => {
      const c = this.ipAdapters[k]!.weights.crossAttentionDim
      if (tokens.rank !== 3 || tokens.shape[2] !== c) {
        throw new IpAdapterInputError(`image tokens of IP-Adapter ${k} must be [rows, tokens, ${c}] (one row per UNet row), found ${tokens.describe()}. Use imageTokensForRows.`)
      }
      const names = ipAdapterInputNames(k)
      feeds[names.tokens] = tokens
      feeds[names.scale] = this.#scales[k]!
      if (this.masks) {
        const mask = masks?.[k]
        if (mask !== undefined && (mask.rank !== 4 || mask.shape[0] !== 1 || mask.shape[1] !== 1)) {
          throw new IpAdapterInputError(`IP-Adapter mask ${k} must be [1, 1, height, width] (one image per adapter), found ${mask.describe()}.`)
        }
        feeds[names.mask] = mask ?? noMask(options.sampleShape)
      }
    })
    return feeds
  }

  /**
   * diffusers `unload_ip_adapter`: frees this session and loads the UNet again with only the other hooks
   * (the plain graph plus e.g. PAG's gates).
   */
  async unloadIpAdapter(): Promise<HookedModel> {
    await this.model.release()
    const { masks: _masks, ...rest } = this.#options
    return loadHookedModel(this.#source, { ...rest, hooks: this.#options.hooks ?? [] })
  }
}

/** The IP-Adapter hook kind for one or several loaded adapters (see {@link ipAdapterAttention}). */
export function ipAdapterHook(ipAdapter: IpAdapter | readonly IpAdapter[], options: { readonly masks?: boolean } = {}): HookKind {
  const list = Array.isArray(ipAdapter) ? (ipAdapter as readonly IpAdapter[]) : [ipAdapter as IpAdapter]
  return ipAdapterAttention(
    list.map((a) => a.weights),
    options,
  )
}

/**
 * Loads a UNet `model.onnx` with the IP-Adapter hook of one or several adapters (and the other given hooks)
 * installed. Weights that do not fit the UNet are an `IpAdapterWeightsError`.
 *
 * @example
 * const unet = await loadIpAdapterUnet("unet/model.onnx", [plus, base], { hooks: [identityAttention()], masks: true })
 */
export async function loadIpAdapterUnet(unetModel: string, ipAdapter: IpAdapter | readonly IpAdapter[], options: IpAdapterUnetOptions = {}): Promise<IpAdapterUnet> {
  const { masks, ...rest } = options
  const hook = ipAdapterHook(ipAdapter, { masks: masks === true })
  const model = await loadHookedModel(unetModel, { ...rest, hooks: [...(options.hooks ?? []), hook] })
  return new IpAdapterUnet(model, ipAdapter, unetModel, options)
}
