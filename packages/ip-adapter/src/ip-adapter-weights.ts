// The published IP-Adapter checkpoint layout (diffusers `loaders/ip_adapter.py` `load_ip_adapter`, flattened
// single file): `image_proj.{proj,norm}.*` and `ip_adapter.{n}.to_{k,v}_ip.weight`, where `n` counts every attention
// processor of the UNet (self-attention at even n, cross-attention at odd n = 2i + 1).
import { SafetensorsFile, toFloat32 } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { IpAdapterWeightsError } from "./errors.js"

/** `to_k_ip` / `to_v_ip` of one cross-attention layer, torch `Linear` layout `[hidden, crossAttentionDim]`. */
export interface IpAdapterLayerWeights {
  /** Index `i` among the cross-attention layers (key `ip_adapter.{2i+1}`). */
  readonly index: number
  readonly toK: Tensor<"float32">
  readonly toV: Tensor<"float32">
}

/** IP-Adapter "base" weights: the image projection and the per-layer key/value projections. */
export interface IpAdapterWeights {
  /** Source file, for messages. */
  readonly path: string
  /** `image_proj.proj.weight` `[numTokens · crossAttentionDim, imageEmbedDim]`. */
  readonly projWeight: Tensor<"float32">
  readonly projBias: Tensor<"float32">
  /** LayerNorm over `crossAttentionDim`. */
  readonly normWeight: Tensor<"float32">
  readonly normBias: Tensor<"float32">
  readonly numTokens: number
  readonly crossAttentionDim: number
  readonly imageEmbedDim: number
  /** Cross-attention layers in the UNet's processor order. */
  readonly layers: readonly IpAdapterLayerWeights[]
}

const LAYER_KEY = /^ip_adapter\.(\d+)\.to_([kv])_ip\.weight$/

function need(tensors: ReadonlyMap<string, Tensor>, key: string, path: string): Tensor<"float32"> {
  const t = tensors.get(key)
  if (t === undefined) {
    const projKeys = [...tensors.keys()].filter((k) => k.startsWith("image_proj.")).join(", ")
    throw new IpAdapterWeightsError(
      `"${path}" has no "${key}": expected an IP-Adapter "base" checkpoint (image_proj.proj.*, image_proj.norm.*); found image_proj keys ${projKeys || "none"}. ` +
        "IP-Adapter Plus / FaceID (image_proj.latents, perceiver resampler) are not supported.",
    )
  }
  return toFloat32(t)
}

/** Checks and arranges tensors named in the published layout (e.g. read from a safetensors file). */
export function parseIpAdapterWeights(tensors: ReadonlyMap<string, Tensor>, path = "IP-Adapter weights"): IpAdapterWeights {
  const projWeight = need(tensors, "image_proj.proj.weight", path)
  const projBias = need(tensors, "image_proj.proj.bias", path)
  const normWeight = need(tensors, "image_proj.norm.weight", path)
  const normBias = need(tensors, "image_proj.norm.bias", path)
  const crossAttentionDim = normWeight.shape[0]!
  const [projOut, imageEmbedDim] = projWeight.shape as [number, number]
  if (projWeight.rank !== 2 || projOut % crossAttentionDim !== 0 || projBias.size !== projOut) {
    throw new IpAdapterWeightsError(
      `"${path}": image_proj.proj.weight ${projWeight.describe()} / bias ${projBias.describe()} do not fit the LayerNorm width ${crossAttentionDim}: expected [numTokens · ${crossAttentionDim}, imageEmbedDim].`,
    )
  }
  const byIndex = new Map<number, { k?: Tensor<"float32">; v?: Tensor<"float32"> }>()
  for (const [key, t] of tensors) {
    const m = LAYER_KEY.exec(key)
    if (m === null) continue
    const n = Number(m[1])
    if (n % 2 !== 1) {
      throw new IpAdapterWeightsError(`"${path}": key "${key}" has an even processor number; cross-attention layers are numbered 2i + 1.`)
    }
    const entry = byIndex.get(n) ?? {}
    entry[m[2] as "k" | "v"] = toFloat32(t)
    byIndex.set(n, entry)
  }
  const numbers = [...byIndex.keys()].sort((a, b) => a - b)
  const layers = numbers.map((n, i): IpAdapterLayerWeights => {
    const entry = byIndex.get(n)!
    if (n !== 2 * i + 1 || entry.k === undefined || entry.v === undefined) {
      throw new IpAdapterWeightsError(
        `"${path}": cross-attention layer ${i} should have keys ip_adapter.${2 * i + 1}.to_k_ip.weight and to_v_ip.weight; found ip_adapter.${n} with ${entry.k === undefined ? "no to_k_ip" : "to_k_ip"}, ${entry.v === undefined ? "no to_v_ip" : "to_v_ip"}.`,
      )
    }
    for (const [name, w] of [["to_k_ip", entry.k], ["to_v_ip", entry.v]] as const) {
      if (w.rank !== 2 || w.shape[1] !== crossAttentionDim) {
        throw new IpAdapterWeightsError(
          `"${path}": ip_adapter.${n}.${name}.weight is ${w.describe()}; expected [hidden, ${crossAttentionDim}] (the image token width).`,
        )
      }
    }
    return { index: i, toK: entry.k, toV: entry.v }
  })
  if (layers.length === 0) throw new IpAdapterWeightsError(`"${path}" has no ip_adapter.{n}.to_k_ip.weight keys.`)
  return {
    path,
    projWeight,
    projBias,
    normWeight,
    normBias,
    numTokens: projOut / crossAttentionDim,
    crossAttentionDim,
    imageEmbedDim,
    layers,
  }
}

/** Reads an IP-Adapter `.safetensors` checkpoint in the published key layout. */
export async function readIpAdapterWeights(path: string): Promise<IpAdapterWeights> {
  let file: SafetensorsFile
  try {
    file = await SafetensorsFile.open(path)
  } catch (cause) {
    throw new IpAdapterWeightsError(`cannot read IP-Adapter weights "${path}": ${(cause as Error).message}. Pass an ip-adapter*.safetensors file.`, {
      cause,
    })
  }
  try {
    const tensors = new Map<string, Tensor>()
    for (const name of file.names) if (name.startsWith("image_proj.") || name.startsWith("ip_adapter.")) tensors.set(name, await file.read(name))
    return parseIpAdapterWeights(tensors, path)
  } finally {
    await file.close()
  }
}
