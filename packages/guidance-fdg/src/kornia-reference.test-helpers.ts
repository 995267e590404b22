// Test-only: an independent transcription of kornia's pyramid and diffusers' FDG helpers, shared by the tests.
import { rescaleNoiseCfg } from "@pagkit/guidance-cfg"
import { Tensor, interpolate } from "@pagkit/tensor"

export const f = Math.fround

// --- An independent transcription of kornia's pyramid for float32 [N, C, H, W] tensors. ---
// kornia geometry/transform/pyramid.py `_get_pyramid_gaussian_kernel` (the 5×5 table / 256.0)
const KERNEL = [
  [1, 4, 6, 4, 1],
  [4, 16, 24, 16, 4],
  [6, 24, 36, 24, 6],
  [4, 16, 24, 16, 4],
  [1, 4, 6, 4, 1],
].map((row) => row.map((v) => v / 256))

/** F.pad(x, (l, r, t, b), mode="reflect") on the last two axes. */
export function padReflect(x: Tensor<"float32">, left: number, right: number, top: number, bottom: number): Tensor<"float32"> {
  const [n, c, h, w] = x.shape as number[] as [number, number, number, number]
  const H = h + top + bottom
  const W = w + left + right
  const out = new Float32Array(n * c * H * W)
  const mirror = (i: number, size: number): number => (i < 0 ? -i : i >= size ? 2 * size - 2 - i : i)
  for (let p = 0; p < n * c; p++) for (let y = 0; y < H; y++) for (let xx = 0; xx < W; xx++) {
    out[(p * H + y) * W + xx] = x.data[(p * h + mirror(y - top, h)) * w + mirror(xx - left, w)]!
  }
  return new Tensor("float32", out, [n, c, H, W])
}

/** kornia filters/filter.py `filter2d(input, kernel, "reflect")`: pad (2, 2, 2, 2), then grouped conv2d. */
export function filter2d(x: Tensor<"float32">): Tensor<"float32"> {
  const [n, c, h, w] = x.shape as number[] as [number, number, number, number]
  const padded = padReflect(x, 2, 2, 2, 2)
  const W = w + 4
  const out = new Float32Array(n * c * h * w)
  for (let p = 0; p < n * c; p++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) {
    let acc = 0
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) acc += KERNEL[i]![j]! * padded.data[(p * (h + 4) + y + i) * W + xx + j]!
    out[(p * h + y) * w + xx] = acc
  }
  return new Tensor("float32", out, [n, c, h, w])
}

const pyrdown = (x: Tensor<"float32">): Tensor<"float32"> => {
  const [, , height, width] = x.shape as number[] as [number, number, number, number]
  return interpolate(filter2d(x), { size: [Math.trunc(height / 2), Math.floor(width / 2)], mode: "bilinear", alignCorners: false })
}
export const pyrup = (x: Tensor<"float32">): Tensor<"float32"> => {
  const [, , height, width] = x.shape as number[] as [number, number, number, number]
  return filter2d(interpolate(x, { size: [height * 2, width * 2], mode: "bilinear", alignCorners: false }))
}
const sub = (a: Tensor<"float32">, b: Tensor<"float32">): Tensor<"float32"> => new Tensor("float32", a.data.map((v, i) => v - b.data[i]!), a.shape)
const isPow2 = (x: number): boolean => x > 0 && (x & (x - 1)) === 0
const nextPow2 = (x: number): number => 1 << (x - 1).toString(2).length

/** kornia `build_laplacian_pyramid(input, max_level)` (reflect, align_corners=False). */
export function referencePyramid(input: Tensor<"float32">, maxLevel: number): Tensor<"float32">[] {
  const [, , h, w] = input.shape as number[] as [number, number, number, number]
  let x = input
  if (!(isPow2(w) || isPow2(h))) x = padReflect(x, 0, nextPow2(w) - w, 0, nextPow2(h) - h)
  const gaussian = [x]
  for (let i = 0; i < maxLevel - 1; i++) gaussian.push(pyrdown(gaussian[gaussian.length - 1]!))
  const laplacian: Tensor<"float32">[] = []
  for (let i = 0; i < maxLevel - 1; i++) laplacian.push(sub(gaussian[i]!, pyrup(gaussian[i + 1]!)))
  laplacian.push(gaussian[gaussian.length - 1]!)
  return laplacian
}

/** diffusers `build_image_from_pyramid` (no crop). */
export function referenceRebuild(pyramid: Tensor<"float32">[]): Tensor<"float32"> {
  let img = pyramid[pyramid.length - 1]!
  for (let i = pyramid.length - 2; i >= 0; i--) {
    const up = pyrup(img)
    img = new Tensor("float32", up.data.map((v, k) => f(v + pyramid[i]!.data[k]!)), up.shape)
  }
  return img
}

export function maxRelError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let worst = 0
  let scale = 1e-30
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!))
    scale = Math.max(scale, Math.abs(expected[i]!))
  }
  return worst / scale
}


/** diffusers frequency_decoupled_guidance.py `project` (lines 50–60), float32 in, float64 math, float32 out. */
function referenceProject(v0: Float32Array, v1: Float32Array, batch: number): [Float32Array, Float32Array] {
  const n = v0.length / batch
  const parallel = new Float32Array(v0.length)
  const orthogonal = new Float32Array(v0.length)
  for (let b = 0; b < batch; b++) {
    const rows = Array.from({ length: n }, (_, i) => b * n + i)
    const norm = Math.max(Math.sqrt(rows.reduce((s, i) => s + v1[i]! ** 2, 0)), 1e-12) // F.normalize
    const unit = rows.map((i) => v1[i]! / norm)
    const dot = rows.reduce((s, i, k) => s + v0[i]! * unit[k]!, 0)
    rows.forEach((i, k) => {
      const v0Parallel = dot * unit[k]!
      parallel[i] = v0Parallel
      orthogonal[i] = v0[i]! - v0Parallel
    })
  }
  return [parallel, orthogonal]
}

/** Settings of {@link referenceFdg}, as FrequencyDecoupledGuidance stores them. */
export interface ReferenceFdgOptions {
  guidanceScales: number[]
  parallelWeights: number[]
  guidanceRescale: number[]
  guidanceRescaleSpace: "data" | "freq"
  useOriginalFormulation: boolean
  enabledLevels: boolean[]
}

/** diffusers `FrequencyDecoupledGuidance.forward` (lines 247–287), upcast_to_double=True, float32, kornia's pyramid. */
export function referenceFdg(predCond: Tensor<"float32">, predUncond: Tensor<"float32">, o: ReferenceFdgOptions): Tensor<"float32"> {
  const levels = o.guidanceScales.length
  const batch = predCond.shape[0]!
  const predCondPyramid = referencePyramid(predCond, levels)
  const predUncondPyramid = referencePyramid(predUncond, levels)
  const predGuidedPyramid: Tensor<"float32">[] = []
  for (let level = 0; level < levels; level++) {
    const predCondFreq = predCondPyramid[level]!
    const predUncondFreq = predUncondPyramid[level]!
    if (!o.enabledLevels[level]) {
      predGuidedPyramid.push(predCondFreq)
      continue
    }
    let shift = predCondFreq.data.map((c, i) => c - predUncondFreq.data[i]!)
    const parallelWeight = o.parallelWeights[level]!
    if (parallelWeight !== 1) {
      const [shiftParallel, shiftOrthogonal] = referenceProject(shift, predCondFreq.data, batch)
      shift = shiftParallel.map((p, i) => f(f(parallelWeight) * p) + shiftOrthogonal[i]!)
    }
    const base = o.useOriginalFormulation ? predCondFreq.data : predUncondFreq.data
    let pred: Tensor<"float32"> = new Tensor("float32", base.map((b, i) => b + f(f(o.guidanceScales[level]!) * shift[i]!)), predCondFreq.shape)
    if (o.guidanceRescaleSpace === "freq" && o.guidanceRescale[level]! > 0) {
      pred = rescaleNoiseCfg(pred, predCondFreq, o.guidanceRescale[level]!) as Tensor<"float32">
    }
    predGuidedPyramid.push(pred)
  }
  let pred = referenceRebuild(predGuidedPyramid)
  if (o.guidanceRescaleSpace === "data" && o.guidanceRescale[0]! > 0) pred = rescaleNoiseCfg(pred, predCond, o.guidanceRescale[0]!) as Tensor<"float32">
  return pred
}
