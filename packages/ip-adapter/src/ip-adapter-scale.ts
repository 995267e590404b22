// Per-layer IP-Adapter scales, as diffusers `IPAdapterMixin.set_ip_adapter_scale` expands them
// (`loaders/ip_adapter.py` + `loaders/unet_loader_utils.py` `_maybe_expand_lora_scales`, default 0 for
// layers a dict does not name).
import { Tensor } from "@pagkit/tensor"
import { IpAdapterInputError } from "./errors.js"

/** A block's scale: one number for all its attentions, or one per `attentions.i`. */
export type BlockScale = number | readonly number[]

/**
 * What `setIpAdapterScale` accepts: one number for every layer, or an InstantStyle-like map
 * `{ down: { block_2: [0, 1] }, mid: 1, up: { block_0: [0, 1, 0] } }`; module-path prefixes
 * (`"down_blocks.2.attentions.1": 1`) are accepted as keys too. Layers a map does not name get 0.
 */
export type IpAdapterScaleInput = number | Readonly<Record<string, number | BlockScale | Readonly<Record<string, BlockScale>>>>

function checkNumber(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new IpAdapterInputError(`IP-Adapter scale for ${where} must be a finite number, found ${JSON.stringify(value)}.`)
  }
  return value
}

/** `(prefix, scale)` rules from a scale map; later rules are more specific. */
function rules(scale: Exclude<IpAdapterScaleInput, number>): [string, number][] {
  const out: [string, number][] = []
  const block = (prefix: string, value: unknown, where: string): void => {
    if (Array.isArray(value)) value.forEach((v, i) => out.push([`${prefix}.attentions.${i}`, checkNumber(v, `${where}[${i}]`)]))
    else out.push([prefix, checkNumber(value, where)])
  }
  for (const [key, value] of Object.entries(scale)) {
    if (key === "mid") block("mid_block", value, "mid")
    else if (key === "down" || key === "up") {
      if (typeof value === "number") {
        out.push([`${key}_blocks`, value])
        continue
      }
      for (const [name, v] of Object.entries(value as Record<string, BlockScale>)) {
        const m = /^block_(\d+)$/.exec(name)
        if (m === null) throw new IpAdapterInputError(`IP-Adapter scale key "${key}.${name}" is not of the form block_N.`)
        block(`${key}_blocks.${m[1]}`, v, `${key}.${name}`)
      }
    } else if (/^(down_blocks|up_blocks|mid_block)/.test(key)) block(key, value, key)
    else {
      throw new IpAdapterInputError(
        `IP-Adapter scale key "${key}" is not understood; use "down", "mid", "up" (diffusers' InstantStyle form) or a module-path prefix such as "down_blocks.2".`,
      )
    }
  }
  return out
}

/**
 * Scales per layer (`Float32Array` in the order of `layers`) for a scale input.
 *
 * @example
 * expandIpAdapterScale(layers, { up: { block_0: [0, 1, 0] } }) // 1 only on up_blocks.0.attentions.1.*
 */
export function expandIpAdapterScale(layers: readonly string[], scale: IpAdapterScaleInput): Float32Array {
  if (typeof scale === "number") return new Float32Array(layers.length).fill(checkNumber(scale, "all layers"))
  const out = new Float32Array(layers.length)
  const list = rules(scale)
  for (const [prefix] of list) {
    if (!layers.some((l) => l === prefix || l.startsWith(`${prefix}.`))) {
      throw new IpAdapterInputError(`IP-Adapter scale names "${prefix}", which matches none of the cross-attention layers: ${layers.join(", ")}.`)
    }
  }
  layers.forEach((layer, i) => {
    for (const [prefix, value] of list) if (layer === prefix || layer.startsWith(`${prefix}.`)) out[i] = value
  })
  return out
}

/** The `ip_adapter_scale` graph input `[layers]`. */
export function ipAdapterScaleTensor(layers: readonly string[], scale: IpAdapterScaleInput): Tensor<"float32"> {
  return new Tensor("float32", expandIpAdapterScale(layers, scale), [layers.length])
}
