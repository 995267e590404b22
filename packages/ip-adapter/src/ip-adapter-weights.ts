// The published IP-Adapter checkpoint layout (diffusers `loaders/ip_adapter.py` `load_ip_adapter`, flattened
// single file): `image_proj.{proj,norm}.*` and `ip_adapter.{n}.to_{k,v}_ip.weight`, where `n` counts every attention
// processor of the UNet (self-attention at even n, cross-attention at odd n = 2i + 1).
import { SafetensorsFile, toFloat32 } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { TorchCheckpoint, TorchPickleError, isTorchCheckpointFile } from "@pagkit/torch-pickle"
import { IpAdapterWeightsError } from "./errors.js"
import { parsePlusProjection } from "./plus-projection-weights.js"
import type { PlusProjectionWeights } from "./plus-projection-weights.js"

/** `to_k_ip` / `to_v_ip` of one cross-attention layer, torch `Linear` layout `[hidden, crossAttentionDim]`. */
export interface IpAdapterLayerWeights {
  /** Index `i` among the cross-attention layers (key `ip_adapter.{2i+1}`). */
  readonly index: number
  readonly toK: Tensor<"float32">
  readonly toV: Tensor<"float32">
}

/** What the cross-attention hook needs of any IP-Adapter variant: the per-layer key/value projections. */
export interface IpAdapterAttentionWeights {
  /** Source file, for messages. */
  readonly path: string
  /** Width of the image tokens (the UNet's cross-attention dim). */
  readonly crossAttentionDim: number
  /** Cross-attention layers in the UNet's processor order. */
  readonly layers: readonly IpAdapterLayerWeights[]
}

/** IP-Adapter "base" weights: the image projection and the per-layer key/value projections. */
export interface IpAdapterWeights extends IpAdapterAttentionWeights {
  /** Absent or `"base"`: the linear + LayerNorm projection of `image_embeds`. */
  readonly variant?: "base"
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

/**
 * IP-Adapter Plus weights: the perceiver projection (diffusers `IPAdapterPlusImageProjection`) of the image
 * encoder's penultimate hidden states, and the same per-layer key/value projections as the base adapter.
 */
export interface IpAdapterPlusWeights extends IpAdapterAttentionWeights {
  readonly variant: "plus"
  readonly projection: PlusProjectionWeights
  /** Image tokens per image (the projection's queries). */
  readonly numTokens: number
  /** Width of the hidden states the projection takes (the image encoder's hidden size). */
  readonly imageEmbedDim: number
}

/** Either variant {@link readAnyIpAdapterWeights} reads. */
export type AnyIpAdapterWeights = IpAdapterWeights | IpAdapterPlusWeights

/** Image-projection families of the published checkpoints (diffusers `_convert_ip_adapter_image_proj_to_diffusers`). */
export type IpAdapterVariant = "base" | "plus" | "full" | "faceid" | "faceid-plus"

/**
 * The variant of a checkpoint from its `image_proj.*` keys, tested in diffusers' order; `undefined` when no
 * projection is recognized.
 *
 * @example
 * detectIpAdapterVariant(["image_proj.latents", "image_proj.proj_in.weight"]) // "plus"
 */
export function detectIpAdapterVariant(keys: Iterable<string>): IpAdapterVariant | undefined {
  const set = new Set(keys)
  if (set.has("image_proj.proj.weight")) return "base"
  if (set.has("image_proj.proj.3.weight")) return "full"
  if (set.has("image_proj.perceiver_resampler.proj_in.weight")) return "faceid-plus"
  if (set.has("image_proj.norm.weight")) return "faceid"
  if (set.has("image_proj.latents")) return "plus"
  return undefined
}

const VARIANT_NAMES: Readonly<Record<Exclude<IpAdapterVariant, "base" | "plus">, string>> = {
  full: "IP-Adapter Full (ip-adapter-full-face: image_proj.proj.{0,2,3})",
  faceid: "IP-Adapter FaceID (image_proj.proj.{0,2}, image_proj.norm; InsightFace ID embeddings)",
  "faceid-plus": "IP-Adapter FaceID Plus (image_proj.perceiver_resampler.*; InsightFace ID embeddings)",
}

function need(tensors: ReadonlyMap<string, Tensor>, key: string, path: string): Tensor<"float32"> {
  const t = tensors.get(key)
  if (t === undefined) {
    const projKeys = [...tensors.keys()].filter((k) => k.startsWith("image_proj.")).join(", ")
    throw new IpAdapterWeightsError(
      `"${path}" has no "${key}": expected an IP-Adapter "base" checkpoint (image_proj.proj.*, image_proj.norm.*); found image_proj keys ${projKeys || "none"}. ` +
        "IP-Adapter Plus (image_proj.latents, perceiver resampler) is read by readAnyIpAdapterWeights / loadIpAdapter; FaceID variants are not supported.",
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
  const layers = parseLayers(tensors, path, crossAttentionDim)
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

/** `ip_adapter.{2i+1}.to_{k,v}_ip.weight`, checked against the image token width. */
function parseLayers(tensors: ReadonlyMap<string, Tensor>, path: string, crossAttentionDim: number): IpAdapterLayerWeights[] {
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
  return layers
}

/** Options of {@link parseAnyIpAdapterWeights} / {@link readAnyIpAdapterWeights}. */
export interface IpAdapterWeightsOptions {
  /** Head size of the Plus perceiver attention; default diffusers' 64 (heads = to_q rows / 64). */
  readonly plusHeadDim?: number
}

/** Checks and arranges tensors of any supported variant (base or Plus); other variants are refused by name. */
export function parseAnyIpAdapterWeights(tensors: ReadonlyMap<string, Tensor>, path = "IP-Adapter weights", options: IpAdapterWeightsOptions = {}): AnyIpAdapterWeights {
  const variant = detectIpAdapterVariant(tensors.keys())
  if (variant === undefined || variant === "base") return parseIpAdapterWeights(tensors, path)
  if (variant !== "plus") {
    throw new IpAdapterWeightsError(
      `"${path}" is an ${VARIANT_NAMES[variant]} checkpoint, which pagkit does not support; supported are IP-Adapter (image_proj.proj/norm) and IP-Adapter Plus / Plus Face (image_proj.latents, perceiver). Use one of those.`,
    )
  }
  const projection = parsePlusProjection(tensors, path, options.plusHeadDim)
  const layers = parseLayers(tensors, path, projection.outputDim)
  return { variant: "plus", path, projection, numTokens: projection.numQueries, imageEmbedDim: projection.embedDim, crossAttentionDim: projection.outputDim, layers }
}

/**
 * The `image_proj.*` / `ip_adapter.*` tensors of a checkpoint: a `.safetensors` file (flat keys) or a PyTorch
 * `.bin` written by `torch.save` (nested `{"image_proj": …, "ip_adapter": …}`, read weights-only by
 * `@pagkit/torch-pickle` and flattened). The format is recognized from the file's first bytes, not its name.
 */
export async function readIpAdapterTensors(path: string): Promise<Map<string, Tensor>> {
  const wanted = (name: string): boolean => name.startsWith("image_proj.") || name.startsWith("ip_adapter.")
  let torchFormat: "zip" | "legacy-pickle" | undefined
  try {
    torchFormat = await isTorchCheckpointFile(path)
  } catch (cause) {
    throw new IpAdapterWeightsError(`cannot read IP-Adapter weights "${path}": ${(cause as Error).message}. Check the path.`, { cause })
  }
  if (torchFormat !== undefined) {
    let ckpt: TorchCheckpoint
    try {
      ckpt = await TorchCheckpoint.open(path)
    } catch (cause) {
      const detail = cause instanceof TorchPickleError ? cause.message : String(cause)
      throw new IpAdapterWeightsError(`cannot read IP-Adapter weights "${path}" (a PyTorch checkpoint): ${detail}`, { cause })
    }
    try {
      const tensors = new Map<string, Tensor>()
      for (const [name, ref] of ckpt.tensors()) if (wanted(name)) tensors.set(name, await ckpt.readTensor(ref))
      return tensors
    } finally {
      await ckpt.close()
    }
  }
  let file: SafetensorsFile
  try {
    file = await SafetensorsFile.open(path)
  } catch (cause) {
    throw new IpAdapterWeightsError(
      `cannot read IP-Adapter weights "${path}": ${(cause as Error).message}. Pass an ip-adapter*.safetensors file or a PyTorch ip-adapter*.bin checkpoint.`,
      { cause },
    )
  }
  try {
    const tensors = new Map<string, Tensor>()
    for (const name of file.names) if (wanted(name)) tensors.set(name, await file.read(name))
    return tensors
  } finally {
    await file.close()
  }
}

/** Reads an IP-Adapter "base" checkpoint (`.safetensors` or PyTorch `.bin`) in the published key layout. */
export async function readIpAdapterWeights(path: string): Promise<IpAdapterWeights> {
  return parseIpAdapterWeights(await readIpAdapterTensors(path), path)
}

/**
 * Reads an IP-Adapter checkpoint of any supported variant (base or Plus), `.safetensors` or PyTorch `.bin`.
 *
 * @example
 * const w = await readAnyIpAdapterWeights("ip-adapter-plus_sdxl_vit-h.bin") // w.variant === "plus"
 */
export async function readAnyIpAdapterWeights(path: string, options: IpAdapterWeightsOptions = {}): Promise<AnyIpAdapterWeights> {
  return parseAnyIpAdapterWeights(await readIpAdapterTensors(path), path, options)
}
