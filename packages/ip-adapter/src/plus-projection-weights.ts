// The IP-Adapter Plus image projection (the original IP-Adapter `Resampler`, diffusers
// `IPAdapterPlusImageProjection`) in the published key layout, and its sizes read from the weights.
// Key mapping as diffusers `loaders/unet.py` `_convert_ip_adapter_image_proj_to_diffusers` (Plus branch):
//   layers.i.0.norm1 → ln0, layers.i.0.norm2 → ln1, layers.i.0.to_q → attn.to_q,
//   layers.i.0.to_kv → attn.to_k / attn.to_v (chunk(2, dim=0)), layers.i.0.to_out → attn.to_out.0,
//   layers.i.1.0 → ff.0 (LayerNorm), layers.i.1.1 → ff.1.net.0.proj, layers.i.1.3 → ff.1.net.2;
//   heads = to_q rows // 64 (diffusers' dim_head), num_queries / hidden from `latents`, widths from proj_in/out.
import { toFloat32 } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import { IpAdapterWeightsError } from "./errors.js"

/** One perceiver block (`IPAdapterPlusImageProjectionBlock`), torch `Linear` layouts `[out, in]`. */
export interface PlusProjectionBlock {
  /** `ln0` (on the image features) and `ln1` (on the latents). */
  readonly ln0: { readonly weight: Float32Array; readonly bias: Float32Array }
  readonly ln1: { readonly weight: Float32Array; readonly bias: Float32Array }
  /** `[heads · headDim, hidden]`, no bias. */
  readonly toQ: Float32Array
  readonly toK: Float32Array
  readonly toV: Float32Array
  /** `[hidden, heads · headDim]`, no bias. */
  readonly toOut: Float32Array
  /** Feed-forward: LayerNorm, Linear `[ffDim, hidden]`, GELU, Linear `[hidden, ffDim]` (no biases). */
  readonly ffNorm: { readonly weight: Float32Array; readonly bias: Float32Array }
  readonly ffIn: Float32Array
  readonly ffOut: Float32Array
}

/** The Plus projection's weights and every size, as read from the checkpoint. */
export interface PlusProjectionWeights {
  /** `latents` `[numQueries, hidden]` (the parameter's leading 1 dropped). */
  readonly latents: Float32Array
  readonly projIn: { readonly weight: Float32Array; readonly bias: Float32Array }
  readonly projOut: { readonly weight: Float32Array; readonly bias: Float32Array }
  readonly normOut: { readonly weight: Float32Array; readonly bias: Float32Array }
  readonly blocks: readonly PlusProjectionBlock[]
  /** Image tokens per image (`latents.shape[1]`). */
  readonly numQueries: number
  /** Width of the image encoder's hidden states (`proj_in.weight.shape[1]`). */
  readonly embedDim: number
  /** Perceiver width (`latents.shape[2]`). */
  readonly hiddenDim: number
  /** Output width = the UNet's cross-attention dim (`proj_out.weight.shape[0]`). */
  readonly outputDim: number
  readonly heads: number
  readonly headDim: number
  readonly ffDim: number
}

/** diffusers' `dim_head` of `IPAdapterPlusImageProjection` (heads = to_q rows / 64). */
export const PLUS_HEAD_DIM = 64

const PLUS_KEY = /^image_proj\.(latents|proj_in\.(weight|bias)|proj_out\.(weight|bias)|norm_out\.(weight|bias)|layers\.(\d+)\.(0\.(norm1|norm2)\.(weight|bias)|0\.(to_q|to_kv|to_out)\.weight|1\.0\.(weight|bias)|1\.[13]\.weight))$/

/**
 * Reads the Plus projection from tensors in the published layout (`image_proj.latents`, `image_proj.proj_in.*`,
 * `image_proj.layers.{i}.{0,1}.*`, …). Every size comes from the weights; `headDim` defaults to diffusers' 64.
 */
export function parsePlusProjection(tensors: ReadonlyMap<string, Tensor>, path: string, headDim = PLUS_HEAD_DIM): PlusProjectionWeights {
  const get = (key: string, shape?: readonly number[]): Float32Array => {
    const t = tensors.get(`image_proj.${key}`)
    if (t === undefined) {
      throw new IpAdapterWeightsError(`"${path}" looks like an IP-Adapter Plus checkpoint (it has image_proj.latents) but has no image_proj.${key}. The file is incomplete or of another variant.`)
    }
    if (shape !== undefined && (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
      throw new IpAdapterWeightsError(`"${path}": image_proj.${key} is ${t.describe()}; expected [${shape.join(", ")}] from the other Plus weights.`)
    }
    return toFloat32(t).data
  }
  for (const key of tensors.keys()) {
    if (key.startsWith("image_proj.") && !PLUS_KEY.test(key)) {
      throw new IpAdapterWeightsError(
        `"${path}": unexpected key "${key}" in an IP-Adapter Plus image projection (expected latents, proj_in, proj_out, norm_out and layers.{i}.{0,1}.*). ` +
          "Variants with extra projection parts are not supported.",
      )
    }
  }
  const latentsTensor = tensors.get("image_proj.latents")!
  const projInTensor = tensors.get("image_proj.proj_in.weight")
  const projOutTensor = tensors.get("image_proj.proj_out.weight")
  const toQTensor = tensors.get("image_proj.layers.0.0.to_q.weight")
  const ffInTensor = tensors.get("image_proj.layers.0.1.1.weight")
  if (latentsTensor.rank !== 3 || latentsTensor.shape[0] !== 1 || projInTensor?.rank !== 2 || projOutTensor?.rank !== 2 || toQTensor?.rank !== 2 || ffInTensor?.rank !== 2) {
    throw new IpAdapterWeightsError(
      `"${path}": an IP-Adapter Plus projection needs latents [1, queries, hidden], proj_in.weight, proj_out.weight, layers.0.0.to_q.weight and layers.0.1.1.weight (2-D); found latents ${latentsTensor.describe()}, proj_in ${projInTensor?.describe() ?? "missing"}, proj_out ${projOutTensor?.describe() ?? "missing"}, to_q ${toQTensor?.describe() ?? "missing"}, ff ${ffInTensor?.describe() ?? "missing"}.`,
    )
  }
  const [, numQueries, hiddenDim] = latentsTensor.shape as [number, number, number]
  const embedDim = projInTensor.shape[1]!
  const outputDim = projOutTensor.shape[0]!
  const inner = toQTensor.shape[0]!
  const ffDim = ffInTensor.shape[0]!
  if (inner % headDim !== 0) {
    throw new IpAdapterWeightsError(`"${path}": to_q has ${inner} rows, not a multiple of the head size ${headDim} (diffusers reads heads = rows // ${headDim}).`)
  }
  const depth = new Set([...tensors.keys()].flatMap((k) => /^image_proj\.layers\.(\d+)\./.exec(k)?.[1] ?? [])).size
  const blocks: PlusProjectionBlock[] = []
  for (let i = 0; i < depth; i++) {
    const p = `layers.${i}`
    const toKv = get(`${p}.0.to_kv.weight`, [2 * inner, hiddenDim])
    blocks.push({
      ln0: { weight: get(`${p}.0.norm1.weight`, [hiddenDim]), bias: get(`${p}.0.norm1.bias`, [hiddenDim]) },
      ln1: { weight: get(`${p}.0.norm2.weight`, [hiddenDim]), bias: get(`${p}.0.norm2.bias`, [hiddenDim]) },
      toQ: get(`${p}.0.to_q.weight`, [inner, hiddenDim]),
      toK: toKv.subarray(0, inner * hiddenDim), // to_kv.chunk(2, dim=0)[0]
      toV: toKv.subarray(inner * hiddenDim),
      toOut: get(`${p}.0.to_out.weight`, [hiddenDim, inner]),
      ffNorm: { weight: get(`${p}.1.0.weight`, [hiddenDim]), bias: get(`${p}.1.0.bias`, [hiddenDim]) },
      ffIn: get(`${p}.1.1.weight`, [ffDim, hiddenDim]),
      ffOut: get(`${p}.1.3.weight`, [hiddenDim, ffDim]),
    })
  }
  if (blocks.length === 0) throw new IpAdapterWeightsError(`"${path}": the Plus projection has no image_proj.layers.{i}.* blocks.`)
  return {
    latents: get("latents"),
    projIn: { weight: get("proj_in.weight", [hiddenDim, embedDim]), bias: get("proj_in.bias", [hiddenDim]) },
    projOut: { weight: get("proj_out.weight", [outputDim, hiddenDim]), bias: get("proj_out.bias", [outputDim]) },
    normOut: { weight: get("norm_out.weight", [outputDim]), bias: get("norm_out.bias", [outputDim]) },
    blocks,
    numQueries,
    embedDim,
    hiddenDim,
    outputDim,
    heads: inner / headDim,
    headDim,
    ffDim,
  }
}
