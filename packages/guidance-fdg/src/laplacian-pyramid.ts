import { PredictionShapeError, asFloatTensor, roundingFor } from "@pagkit/guidance"
import type { FloatTensor, GuidanceDType } from "@pagkit/guidance"
import { Tensor } from "@pagkit/tensor"

// Ports of kornia `geometry/transform/pyramid.py` (`_get_pyramid_gaussian_kernel`, `pyrdown`, `pyrup`,
// `build_pyramid`, `build_laplacian_pyramid`) and `filters/filter.py` (`filter2d` with reflect
// borders), with torch's `F.interpolate(mode="bilinear", align_corners=False)` from
// aten/src/ATen/native/UpSample.h + UpSampleKernel.cpp. Arithmetic rounds in the tensor's dtype
// per op (float32: opmath float); the 5 × 5 blur accumulates in float64 and rounds once.

/** Binomial taps of kornia's pyramid kernel: the 5 × 5 kernel is `taps[i]·taps[j] / 256`. */
const TAPS = [1, 4, 6, 4, 1] as const

/** A stack of `planes` images of `height × width` (planes = batch · channels), row-major. */
interface Planes {
  readonly data: Float32Array | Float64Array
  readonly planes: number
  readonly height: number
  readonly width: number
}

function allocate(dtype: GuidanceDType, size: number): Float32Array | Float64Array {
  return dtype === "float32" ? new Float32Array(size) : new Float64Array(size)
}

function dtypeOf(p: Planes): GuidanceDType {
  return p.data instanceof Float32Array ? "float32" : "float64"
}

/** torch's reflect padding index (no edge repeat): −1 → 1, n → n − 2. */
function reflect(i: number, n: number): number {
  if (i < 0) return -i
  if (i >= n) return 2 * (n - 1) - i
  return i
}

/** kornia `filter2d(x, gaussian 5×5 / 256, "reflect")`: depthwise correlation with reflect borders. */
function blur(p: Planes): Planes {
  const { planes, height, width } = p
  if (height < 3 || width < 3) {
    throw new PredictionShapeError(
      `fdg: a pyramid level of ${height}×${width} is too small for the 5×5 blur with reflect borders (needs at least 3×3). ` +
        `Use fewer levels (scales) or a larger image.`,
    )
  }
  // The kernel is separable (taps ⊗ taps / 256): rows then columns, in float64, rounded once at the end.
  const out = allocate(dtypeOf(p), p.data.length)
  const rows = new Float64Array(height * width)
  const column = new Int32Array(5)
  for (let plane = 0; plane < planes; plane++) {
    const base = plane * height * width
    for (let y = 0; y < height; y++) {
      const row = base + y * width
      for (let x = 0; x < width; x++) {
        let sum = 0
        if (x >= 2 && x < width - 2) {
          for (let k = 0; k < 5; k++) sum += TAPS[k]! * p.data[row + x + k - 2]!
        } else {
          for (let k = 0; k < 5; k++) sum += TAPS[k]! * p.data[row + reflect(x + k - 2, width)]!
        }
        rows[y * width + x] = sum
      }
    }
    for (let y = 0; y < height; y++) {
      for (let k = 0; k < 5; k++) column[k] = reflect(y + k - 2, height) * width
      for (let x = 0; x < width; x++) {
        let sum = 0
        for (let k = 0; k < 5; k++) sum += TAPS[k]! * rows[column[k]! + x]!
        out[base + y * width + x] = sum / 256
      }
    }
  }
  return { data: out, planes, height, width }
}

/** Source taps of torch's linear interpolation along one axis (align_corners=False, size given). */
function linearTaps(inSize: number, outSize: number, round: (x: number) => number): { i0: Int32Array; i1: Int32Array; w0: Float64Array; w1: Float64Array } {
  const taps = { i0: new Int32Array(outSize), i1: new Int32Array(outSize), w0: new Float64Array(outSize), w1: new Float64Array(outSize) }
  const scale = round(inSize / outSize) // area_pixel_compute_scale
  for (let dst = 0; dst < outSize; dst++) {
    let source = round(round(scale * round(dst + 0.5)) - 0.5) // area_pixel_compute_source_index
    if (source < 0) source = 0
    const i0 = Math.min(Math.trunc(source), inSize - 1)
    const lambda1 = Math.min(Math.max(round(source - i0), 0), 1)
    taps.i0[dst] = i0
    taps.i1[dst] = i0 + (i0 < inSize - 1 ? 1 : 0)
    taps.w1[dst] = lambda1
    taps.w0[dst] = round(1 - lambda1)
  }
  return taps
}

/** `F.interpolate(x, size=(outH, outW), mode="bilinear", align_corners=False)`. */
function bilinear(p: Planes, outH: number, outW: number): Planes {
  const round = roundingFor(dtypeOf(p))
  const rows = linearTaps(p.height, outH, round)
  const cols = linearTaps(p.width, outW, round)
  const out = allocate(dtypeOf(p), p.planes * outH * outW)
  for (let plane = 0; plane < p.planes; plane++) {
    const src = plane * p.height * p.width
    const dst = plane * outH * outW
    for (let y = 0; y < outH; y++) {
      const top = src + rows.i0[y]! * p.width
      const bottom = src + rows.i1[y]! * p.width
      const h0 = rows.w0[y]!
      const h1 = rows.w1[y]!
      for (let x = 0; x < outW; x++) {
        const x0 = cols.i0[x]!
        const x1 = cols.i1[x]!
        const w0 = cols.w0[x]!
        const w1 = cols.w1[x]!
        const upper = round(round(p.data[top + x0]! * w0) + round(p.data[top + x1]! * w1))
        const lower = round(round(p.data[bottom + x0]! * w0) + round(p.data[bottom + x1]! * w1))
        out[dst + y * outW + x] = round(upper * h0) + round(lower * h1)
      }
    }
  }
  return { data: out, planes: p.planes, height: outH, width: outW }
}

/** kornia `pyrdown`: blur, then bilinear to `floor(h / 2) × floor(w / 2)`. */
function pyrDown(p: Planes): Planes {
  return bilinear(blur(p), Math.floor(p.height / 2), Math.floor(p.width / 2))
}

/** kornia `pyrup`: bilinear to `2h × 2w`, then blur. */
function pyrUp(p: Planes): Planes {
  return blur(bilinear(p, p.height * 2, p.width * 2))
}

function subtract(a: Planes, b: Planes): Planes {
  const out = allocate(dtypeOf(a), a.data.length)
  for (let i = 0; i < out.length; i++) out[i] = a.data[i]! - b.data[i]!
  return { ...a, data: out }
}

function add(a: Planes, b: Planes): Planes {
  const out = allocate(dtypeOf(a), a.data.length)
  for (let i = 0; i < out.length; i++) out[i] = a.data[i]! + b.data[i]!
  return { ...a, data: out }
}

const isPowerOfTwo = (x: number): boolean => x > 0 && (x & (x - 1)) === 0
const nextPowerOfTwo = (x: number): number => (x <= 1 ? 1 : 2 ** Math.ceil(Math.log2(x)))

/** True when every Gaussian level is exactly twice the size of the next, so `pyrup` lines up. */
function levelsLineUp(height: number, width: number, levels: number): boolean {
  let h = height
  let w = width
  for (let level = 1; level < levels; level++) {
    if (h % 2 !== 0 || w % 2 !== 0) return false
    h /= 2
    w /= 2
  }
  return true
}

/** Padded size used for the pyramid of an `height × width` image (see {@link buildLaplacianPyramid}). */
export function pyramidSize(height: number, width: number, levels: number): { height: number; width: number } {
  const korniaPads = !(isPowerOfTwo(width) || isPowerOfTwo(height)) // kornia: pad only when neither side is 2^k
  if (korniaPads || !levelsLineUp(height, width, levels)) return { height: nextPowerOfTwo(height), width: nextPowerOfTwo(width) }
  return { height, width }
}

/** A Laplacian pyramid of a `[N, C, H, W]` tensor, finest level first, and the size it was built at. */
export interface LaplacianPyramid {
  /** Band-pass levels `0 … L − 2`, then the last Gaussian level: `[N, C, H', W']`, `[N, C, H'/2, W'/2]`, … */
  readonly levels: readonly FloatTensor[]
  /** The input's `[height, width]`, to crop the rebuilt image back to. */
  readonly size: readonly [number, number]
}

function toPlanes(t: FloatTensor): Planes {
  const [n, c, h, w] = t.shape as [number, number, number, number]
  return { data: t.data, planes: n * c, height: h, width: w }
}

function toTensor(p: Planes, batch: number, channels: number): FloatTensor {
  return new Tensor(dtypeOf(p), p.data, [batch, channels, p.height, p.width]) as FloatTensor
}

/**
 * kornia `build_laplacian_pyramid(x, levels)` (reflect borders, align_corners=False). Like kornia, the
 * input is reflect-padded on the bottom/right to the next power of two per side when neither side
 * is one; pagkit also pads when the levels would not line up (kornia raises a shape mismatch there,
 * kornia#3927), so every latent size works. {@link buildImageFromPyramid} crops back to `size`.
 *
 * @example
 * const pyramid = buildLaplacianPyramid(noisePredText, 2) // levels[0]: high frequencies, levels[1]: low
 */
export function buildLaplacianPyramid(x: Tensor, levels: number): LaplacianPyramid {
  const input = asFloatTensor(x, "fdg: prediction")
  if (input.rank !== 4) {
    throw new PredictionShapeError(
      `fdg: expected a prediction [batch, channels, height, width], found ${input.describe()}. FDG needs image-shaped latents.`,
    )
  }
  if (!Number.isInteger(levels) || levels < 1) {
    throw new PredictionShapeError(`fdg: expected a whole number of pyramid levels >= 1, found ${String(levels)}.`)
  }
  const [batch, channels, height, width] = input.shape as [number, number, number, number]
  const padded = pyramidSize(height, width, levels)
  let image = toPlanes(input)
  if (padded.height !== height || padded.width !== width) {
    const out = allocate(input.dtype, image.planes * padded.height * padded.width)
    for (let plane = 0; plane < image.planes; plane++) {
      for (let y = 0; y < padded.height; y++) {
        for (let xx = 0; xx < padded.width; xx++) {
          out[(plane * padded.height + y) * padded.width + xx] = image.data[(plane * height + reflect(y, height)) * width + reflect(xx, width)]!
        }
      }
    }
    image = { data: out, planes: image.planes, height: padded.height, width: padded.width }
  }
  const gaussian: Planes[] = [image]
  for (let level = 1; level < levels; level++) gaussian.push(pyrDown(gaussian[level - 1]!))
  const laplacian: FloatTensor[] = []
  for (let level = 0; level < levels - 1; level++) {
    laplacian.push(toTensor(subtract(gaussian[level]!, pyrUp(gaussian[level + 1]!)), batch, channels))
  }
  laplacian.push(toTensor(gaussian[levels - 1]!, batch, channels))
  return { levels: laplacian, size: [height, width] }
}

/**
 * The image back from a Laplacian pyramid (FDG paper, Algorithm 2; diffusers
 * `build_image_from_pyramid`): `img = last; img = pyrup(img) + level_i` for `i = L − 2 … 0`,
 * cropped to `size` when the pyramid was built on a padded image.
 */
export function buildImageFromPyramid(levels: readonly Tensor[], size: readonly [number, number]): FloatTensor {
  const last = asFloatTensor(levels[levels.length - 1]!, "fdg: pyramid level")
  const [batch, channels] = last.shape as [number, number]
  let image = toPlanes(last)
  for (let level = levels.length - 2; level >= 0; level--) image = add(pyrUp(image), toPlanes(asFloatTensor(levels[level]!)))
  const [height, width] = size
  if (image.height === height && image.width === width) return toTensor(image, batch, channels)
  const out = allocate(dtypeOf(image), image.planes * height * width)
  for (let plane = 0; plane < image.planes; plane++) {
    for (let y = 0; y < height; y++) {
      const from = (plane * image.height + y) * image.width
      out.set(image.data.subarray(from, from + width), (plane * height + y) * width)
    }
  }
  return toTensor({ data: out, planes: image.planes, height, width }, batch, channels)
}
