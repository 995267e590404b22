// A UNet with the IP-Adapter hook installed (alongside other hooks such as PAG's identity attention), its
// per-layer scale, and unloading back to the plain graph (diffusers `set_ip_adapter_scale`, `unload_ip_adapter`).
import { loadHookedModel } from "@pagkit/onnx"
import type { HookKind, HookedModel, HookedModelOptions } from "@pagkit/onnx"
import type { Tensor } from "@pagkit/tensor"
import { IpAdapterInputError } from "./errors.js"
import { IP_ADAPTER_KIND, IP_ADAPTER_SCALE_INPUT, IP_ADAPTER_TOKENS_INPUT } from "./ip-adapter-attention.js"
import type { IpAdapter } from "./ip-adapter.js"
import { ipAdapterScaleTensor } from "./ip-adapter-scale.js"
import type { IpAdapterScaleInput } from "./ip-adapter-scale.js"

/** Options of {@link loadIpAdapterUnet}: session options plus the other hook kinds to install. */
export interface IpAdapterUnetOptions extends Omit<HookedModelOptions, "hooks"> {
  /** Other hook kinds (e.g. `identityAttention()` for PAG), installed before the IP-Adapter's. */
  readonly hooks?: readonly HookKind[]
}

/**
 * A hooked UNet session with the IP-Adapter's decoupled cross-attention. Feed {@link IpAdapterUnet.feeds} with
 * every call: image tokens per row (`ip_adapter_image_tokens`, per-row like `encoder_hidden_states`) and the scale
 * (`ip_adapter_scale`, shared). The scale starts at 1.0 as in diffusers.
 *
 * @example
 * const unet = await loadIpAdapterUnet("tiny-sdxl/unet/model.onnx", ip, { hooks: [identityAttention()] })
 * unet.setIpAdapterScale(0.8)
 * const out = await unet.model.run({ ...feeds, ...unet.feeds(imageTokensForRows(tokens, rows)), pag_gates })
 */
export class IpAdapterUnet {
  readonly model: HookedModel
  readonly ipAdapter: IpAdapter
  /** Cross-attention layers, in the order of the scale input. */
  readonly layers: readonly string[]
  readonly #options: IpAdapterUnetOptions
  readonly #source: string
  #scale: Tensor<"float32">

  constructor(model: HookedModel, ipAdapter: IpAdapter, source: string, options: IpAdapterUnetOptions = {}) {
    this.model = model
    this.ipAdapter = ipAdapter
    this.layers = model.layers(IP_ADAPTER_KIND)
    this.#source = source
    this.#options = options
    this.#scale = ipAdapterScaleTensor(this.layers, 1)
  }

  /** Sets the scale: one number, or a per-block map (see {@link IpAdapterScaleInput}); unnamed layers get 0. */
  setIpAdapterScale(scale: IpAdapterScaleInput): void {
    this.#scale = ipAdapterScaleTensor(this.layers, scale)
  }

  /** The current `ip_adapter_scale` input `[layers]`. */
  get scale(): Tensor<"float32"> {
    return this.#scale
  }

  /** Scales per layer path. */
  get scaleByLayer(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.layers.map((l, i) => [l, this.#scale.data[i]!]))
  }

  /** Graph inputs for one call: `ip_adapter_image_tokens` (`[rows, T, C]`, one per UNet row) and `ip_adapter_scale`. */
  feeds(rowTokens: Tensor<"float32">): Record<string, Tensor> {
    const c = this.ipAdapter.weights.crossAttentionDim
    if (rowTokens.rank !== 3 || rowTokens.shape[2] !== c) {
      throw new IpAdapterInputError(`image tokens must be [rows, tokens, ${c}] (one row per UNet row), found ${rowTokens.describe()}. Use imageTokensForRows.`)
    }
    return { [IP_ADAPTER_TOKENS_INPUT]: rowTokens, [IP_ADAPTER_SCALE_INPUT]: this.#scale }
  }

  /**
   * diffusers `unload_ip_adapter`: frees this session and loads the UNet again with only the other hooks
   * (the plain graph plus e.g. PAG's gates).
   */
  async unloadIpAdapter(): Promise<HookedModel> {
    await this.model.release()
    return loadHookedModel(this.#source, { ...this.#options, hooks: this.#options.hooks ?? [] })
  }
}

/**
 * Loads a UNet `model.onnx` with the IP-Adapter hook (and the other given hooks) installed. Weights that do not
 * fit the UNet are an `IpAdapterWeightsError`.
 */
export async function loadIpAdapterUnet(unetModel: string, ipAdapter: IpAdapter, options: IpAdapterUnetOptions = {}): Promise<IpAdapterUnet> {
  const model = await loadHookedModel(unetModel, { ...options, hooks: [...(options.hooks ?? []), ipAdapter.hook()] })
  return new IpAdapterUnet(model, ipAdapter, unetModel, options)
}
