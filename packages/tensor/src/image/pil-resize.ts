// PIL's `Image.resize` for 8-bit images, ported from Pillow `src/libImaging/Resample.c`
// (`precompute_coeffs`, `normalize_coeffs_8bpc`, `ImagingResampleHorizontal_8bpc`,
// `ImagingResampleVertical_8bpc`, `ImagingResampleInner`): separable convolution with an antialiased
// support (scaled by the reduction factor), 22-bit fixed-point coefficients, and uint8 rounding
// between the horizontal and the vertical pass.
import { ImageError } from "../errors.js"
import { float32Data } from "../ops/cast.js"
import type { Tensor } from "../tensor.js"
import { pixelsToTensor } from "./pixels.js"

/** PIL resampling filters (`Image.Resampling`) with an antialiased support. */
export type PilFilter = "box" | "bilinear" | "hamming" | "bicubic" | "lanczos"

/** An 8-bit image, channels interleaved (`[height, width, channels]`). */
export interface Pixels8 {
  readonly data: Uint8Array
  readonly width: number
  readonly height: number
  readonly channels: number
}

const PRECISION_BITS = 32 - 8 - 2

function sinc(x: number): number {
  if (x === 0) return 1
  const px = x * Math.PI
  return Math.sin(px) / px
}

const FILTERS: Record<PilFilter, { readonly support: number; readonly fn: (x: number) => number }> = {
  box: { support: 0.5, fn: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: { support: 1, fn: (x) => (Math.abs(x) < 1 ? 1 - Math.abs(x) : 0) },
  hamming: {
    support: 1,
    fn: (x) => {
      const ax = Math.abs(x)
      if (ax === 0) return 1
      if (ax >= 1) return 0
      const px = ax * Math.PI
      return (Math.sin(px) / px) * (0.54 + 0.46 * Math.cos(px))
    },
  },
  bicubic: {
    support: 2,
    fn: (x) => {
      const a = -0.5
      const ax = Math.abs(x)
      if (ax < 1) return ((a + 2) * ax - (a + 3)) * ax * ax + 1
      if (ax < 2) return (((ax - 5) * ax + 8) * ax - 4) * a
      return 0
    },
  },
  lanczos: { support: 3, fn: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
}

/** torch's cubic `aa_filter` (`UpSampleKernel.cpp` `HelperInterpCubic`, Keys a = -0.5), evaluated in its own order. */
function torchCubic(x: number): number {
  const a = -0.5
  const ax = Math.abs(x)
  if (ax < 1) return ((a + 2) * ax - (a + 3)) * ax * ax + 1
  if (ax < 2) return ((a * ax - 5 * a) * ax + 8 * a) * ax - 4 * a
  return 0
}

/** Which implementation's fixed-point arithmetic to reproduce. */
export type ResampleFlavor = "pil" | "torch"

interface Coefficients {
  readonly ksize: number
  /** `[outSize, 2]`: first input index and tap count per output index. */
  readonly bounds: Int32Array
  /** `[outSize, ksize]` fixed-point weights. */
  readonly weights: Int32Array
  /** Fixed-point bits of the weights. */
  readonly precision: number
}

/**
 * Pillow `precompute_coeffs` + `normalize_coeffs_8bpc` (22 fixed-point bits), or torch's
 * `_compute_indices_int16_weights_aa` (int16 weights, precision chosen from the largest weight).
 */
function precompute(inSize: number, outSize: number, filter: PilFilter, flavor: ResampleFlavor): Coefficients {
  const baseSupport = FILTERS[filter].support
  const fn = flavor === "torch" && filter === "bicubic" ? torchCubic : FILTERS[filter].fn
  const scale = inSize / outSize
  const filterScale = Math.max(scale, 1)
  const support = baseSupport * filterScale
  const ksize = Math.ceil(support) * 2 + 1
  const bounds = new Int32Array(outSize * 2)
  const weights = new Int32Array(outSize * ksize)
  const k = new Float64Array(ksize)
  const normalized = new Float64Array(outSize * ksize)
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale
    const ss = 1 / filterScale
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0)
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin
    let total = 0
    k.fill(0)
    for (let x = 0; x < xmax; x++) {
      const w = fn((x + xmin - center + 0.5) * ss)
      k[x] = w
      total += w
    }
    for (let x = 0; x < ksize; x++) normalized[xx * ksize + x] = x < xmax && total !== 0 ? k[x]! / total : k[x]!
    bounds[xx * 2] = xmin
    bounds[xx * 2 + 1] = xmax
  }
  let precision = PRECISION_BITS
  if (flavor === "torch") {
    let wMax = normalized[0]!
    for (const v of normalized) if (v > wMax) wMax = v
    for (precision = 0; precision < 22; precision++) {
      if (Math.trunc(0.5 + wMax * 2 ** (precision + 1)) >= 1 << 15) break
    }
  }
  const one = 2 ** precision
  normalized.forEach((w, i) => {
    weights[i] = w < 0 ? Math.trunc(-0.5 + w * one) : Math.trunc(0.5 + w * one)
  })
  return { ksize, bounds, weights, precision }
}

function clip8(value: number, precision: number): number {
  const shifted = value >> precision
  return shifted < 0 ? 0 : shifted > 255 ? 255 : shifted
}

/** Target of {@link pilResize}. */
export interface ResizeTarget {
  readonly width: number
  readonly height: number
  readonly filter: PilFilter
  /**
   * `"pil"` (default): Pillow's `Image.resize`. `"torch"`: torch's antialiased uint8 interpolation
   * (`F.interpolate(..., antialias=True)` on uint8, what torchvision / transformers' fast image processors use).
   */
  readonly flavor?: ResampleFlavor
}

/**
 * Resizes an 8-bit image exactly as PIL's `Image.resize((width, height), resample=filter)` (no `box`, no
 * `reducing_gap`): horizontal pass into uint8, then vertical pass. A same-size resize is a copy.
 * Channels are resampled independently: for L and RGB images this is PIL; PIL premultiplies the alpha of
 * LA/RGBA images first (`RGBa`), which this does not, so 2- and 4-channel results differ where alpha < 255.
 *
 * @example
 * const resized = pilResize(pixels, { width: 38, height: 32, filter: "bicubic" })
 */
export function pilResize(image: Pixels8, size: ResizeTarget): Pixels8 {
  const { width, height, filter } = size
  const flavor = size.flavor ?? "pil"
  const c = image.channels
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new ImageError("IMAGE_INVALID_TENSOR", `pilResize: the target must be positive integers, found ${width}×${height}.`)
  }
  const sizes = [image.width, image.height, c]
  if (!sizes.every((d) => Number.isInteger(d) && d > 0) || image.data.length !== image.width * image.height * c) {
    throw new ImageError(
      "IMAGE_INVALID_TENSOR",
      `pilResize: expected ${image.width}×${image.height}×${c} interleaved bytes (positive sizes), found ${image.data.length}. Pass { data, width, height, channels } with data.length = width·height·channels.`,
    )
  }
  const horizontal = precompute(image.width, width, filter, flavor)
  const vertical = precompute(image.height, height, filter, flavor)
  let current = image
  if (width !== image.width) {
    // Pillow resamples only the rows the vertical pass reads; computing all rows gives the same values.
    const out = new Uint8Array(width * image.height * c)
    const { ksize, bounds, weights, precision } = horizontal
    for (let y = 0; y < image.height; y++) {
      const row = y * image.width * c
      for (let xx = 0; xx < width; xx++) {
        const xmin = bounds[xx * 2]!
        const xmax = bounds[xx * 2 + 1]!
        for (let ch = 0; ch < c; ch++) {
          let ss = 1 << (precision - 1)
          for (let x = 0; x < xmax; x++) ss += image.data[row + (x + xmin) * c + ch]! * weights[xx * ksize + x]!
          out[(y * width + xx) * c + ch] = clip8(ss, precision)
        }
      }
    }
    current = { data: out, width, height: image.height, channels: c }
  }
  if (height !== image.height) {
    const out = new Uint8Array(width * height * c)
    const { ksize, bounds, weights, precision } = vertical
    for (let yy = 0; yy < height; yy++) {
      const ymin = bounds[yy * 2]!
      const ymax = bounds[yy * 2 + 1]!
      for (let x = 0; x < width; x++) {
        for (let ch = 0; ch < c; ch++) {
          let ss = 1 << (precision - 1)
          for (let y = 0; y < ymax; y++) ss += current.data[((y + ymin) * width + x) * c + ch]! * weights[yy * ksize + y]!
          out[(yy * width + x) * c + ch] = clip8(ss, precision)
        }
      }
    }
    current = { data: out, width, height, channels: c }
  }
  return current === image ? { ...image, data: image.data.slice() } : current
}

/**
 * Image `index` of `[N, C, H, W]` → 8-bit interleaved pixels: floats in [0, 1] (as `loadImage` returns; float16
 * decoded) become `round(v · 255)` clamped, uint8 tensors are taken as 0..255.
 */
export function tensorToPixels8(image: Tensor, index = 0): Pixels8 {
  if (image.rank !== 4) {
    throw new ImageError("IMAGE_INVALID_TENSOR", `tensorToPixels8: expected an image [N, C, H, W] in [0, 1], found ${image.describe()}.`)
  }
  const [n, c, h, w] = image.shape as [number, number, number, number]
  if (!Number.isInteger(index) || index < 0 || index >= n) {
    throw new ImageError("IMAGE_INVALID_TENSOR", `tensorToPixels8: image index ${index} is out of range for ${image.describe()}. Pass 0 ≤ index < ${n}.`)
  }
  const values = image.dtype === "uint8" ? (image.data as Uint8Array) : float32Data(image)
  const scale = image.dtype === "uint8" ? 1 : 255
  const plane = h * w
  const data = new Uint8Array(plane * c)
  const base = index * c * plane
  for (let ch = 0; ch < c; ch++) {
    for (let p = 0; p < plane; p++) {
      const v = Math.round(values[base + ch * plane + p]! * scale)
      data[p * c + ch] = v < 0 ? 0 : v > 255 ? 255 : v
    }
  }
  return { data, width: w, height: h, channels: c }
}

/** 8-bit interleaved pixels → `[1, C, H, W]` float32 `pixel / 255`. */
export function pixels8ToTensor(pixels: Pixels8): Tensor<"float32"> {
  return pixelsToTensor(pixels)
}
