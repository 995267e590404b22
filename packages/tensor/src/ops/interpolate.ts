import { ShapeError } from "../errors.js"
import { Tensor } from "../tensor.js"
import { float32Data } from "./cast.js"

/** Options of {@link interpolate}. */
export interface InterpolateOptions {
  /** Output `[height, width]`. */
  readonly size: readonly [number, number]
  /** Default `"nearest"` (torch's default). */
  readonly mode?: "nearest" | "nearest-exact" | "bilinear"
  /** Bilinear only: torch's `align_corners`. Default false. */
  readonly alignCorners?: boolean
}

const fround = Math.fround

// Ported from PyTorch aten/src/ATen/native/UpSample.h: nearest_idx, nearest_exact_idx,
// area_pixel_compute_scale/source_index and UpSampleKernel.cpp compute_indices_weights_linear,
// with float32 (opmath for float) arithmetic.

/** torch's legacy "nearest": src = min(floor(dst * (in / out)), in − 1), exact shortcuts for equal and 2× sizes. */
function nearestIndices(inSize: number, outSize: number, exact: boolean): Int32Array {
  const indices = new Int32Array(outSize)
  const scale = fround(inSize / outSize)
  for (let dst = 0; dst < outSize; dst++) {
    if (exact) indices[dst] = Math.min(Math.floor(fround((dst + 0.5) * scale)), inSize - 1)
    else if (outSize === inSize) indices[dst] = dst
    else if (outSize === 2 * inSize) indices[dst] = dst >> 1
    else indices[dst] = Math.min(Math.floor(fround(dst * scale)), inSize - 1)
  }
  return indices
}

/** Two source indices and weights per output position for linear interpolation. */
interface LinearTaps {
  readonly index0: Int32Array
  readonly index1: Int32Array
  readonly weight0: Float32Array
  readonly weight1: Float32Array
}

function linearTaps(inSize: number, outSize: number, alignCorners: boolean): LinearTaps {
  const taps = {
    index0: new Int32Array(outSize),
    index1: new Int32Array(outSize),
    weight0: new Float32Array(outSize),
    weight1: new Float32Array(outSize),
  }
  const scale = alignCorners ? (outSize > 1 ? fround((inSize - 1) / (outSize - 1)) : 0) : fround(inSize / outSize)
  for (let dst = 0; dst < outSize; dst++) {
    let source = alignCorners ? fround(scale * dst) : fround(fround(scale * fround(dst + 0.5)) - 0.5)
    if (source < 0) source = 0
    const i0 = Math.min(Math.trunc(source), inSize - 1)
    const lambda1 = Math.min(Math.max(fround(source - i0), 0), 1)
    taps.index0[dst] = i0
    taps.index1[dst] = i0 + (i0 < inSize - 1 ? 1 : 0)
    taps.weight1[dst] = lambda1
    taps.weight0[dst] = fround(1 - lambda1)
  }
  return taps
}

/**
 * Resizes the last two axes of `[N, C, H, W]` like `torch.nn.functional.interpolate(x, size=…, mode=…)`
 * (no antialias). Float32 result.
 *
 * @example
 * interpolate(mask, { size: [latentHeight, latentWidth] }) // nearest, as diffusers' inpaint mask prep
 */
export function interpolate(t: Tensor, options: InterpolateOptions): Tensor<"float32"> {
  const [outH, outW] = options.size
  if (t.rank !== 4) {
    throw new ShapeError(`interpolate: expected [N, C, H, W], found ${t.describe()}. Add batch/channel axes with reshape.`)
  }
  if (!Number.isInteger(outH) || !Number.isInteger(outW) || outH <= 0 || outW <= 0) {
    throw new ShapeError(`interpolate: size must be two positive integers, found [${outH}, ${outW}].`)
  }
  const [n, c, inH, inW] = t.shape as [number, number, number, number]
  if (inH === 0 || inW === 0) throw new ShapeError(`interpolate: cannot resize the empty image ${t.describe()}.`)
  const input = float32Data(t)
  const out = new Float32Array(n * c * outH * outW)
  const mode = options.mode ?? "nearest"
  if (mode === "bilinear") {
    const rows = linearTaps(inH, outH, options.alignCorners === true)
    const cols = linearTaps(inW, outW, options.alignCorners === true)
    for (let plane = 0; plane < n * c; plane++) {
      const src = plane * inH * inW
      const dst = plane * outH * outW
      for (let y = 0; y < outH; y++) {
        const top = src + rows.index0[y]! * inW
        const bottom = src + rows.index1[y]! * inW
        const h0 = rows.weight0[y]!
        const h1 = rows.weight1[y]!
        for (let x = 0; x < outW; x++) {
          const x0 = cols.index0[x]!
          const x1 = cols.index1[x]!
          const w0 = cols.weight0[x]!
          const w1 = cols.weight1[x]!
          const upper = fround(fround(input[top + x0]! * w0) + fround(input[top + x1]! * w1))
          const lower = fround(fround(input[bottom + x0]! * w0) + fround(input[bottom + x1]! * w1))
          out[dst + y * outW + x] = fround(upper * h0) + fround(lower * h1)
        }
      }
    }
  } else {
    if (options.alignCorners !== undefined) {
      throw new ShapeError(`interpolate: alignCorners only applies to bilinear mode, found mode "${mode}".`)
    }
    const exact = mode === "nearest-exact"
    const rows = nearestIndices(inH, outH, exact)
    const cols = nearestIndices(inW, outW, exact)
    for (let plane = 0; plane < n * c; plane++) {
      const src = plane * inH * inW
      const dst = plane * outH * outW
      for (let y = 0; y < outH; y++) {
        const row = src + rows[y]! * inW
        for (let x = 0; x < outW; x++) out[dst + y * outW + x] = input[row + cols[x]!]!
      }
    }
  }
  return new Tensor("float32", out, [n, c, outH, outW])
}
