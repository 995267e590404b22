/**
 * float16 draws as torch 2.11 makes them on CPU.
 *
 * Why this shape (read from pytorch at the 2.11 branch cut, Feb 2026;
 * `aten/src/ATen/native/cpu/DistributionTemplates.h`, `aten/src/ATen/core/DistributionsHelper.h`,
 * `aten/src/ATen/core/TransformationHelper.h`, `c10/util/Half-inl.h`, `c10/util/BFloat16-math.h`):
 * - `normal_kernel` sends only float32 to the AVX2 fill; Half goes to the generic
 *   `normal_fill<c10::Half>` (n >= 16, contiguous) or to the serial `normal_distribution<double>`
 *   path cast to Half (n < 16), like float32's small path.
 * - `uniform_real_distribution<c10::Half>` uses `numeric_limits<Half>::digits = 11` bits of one
 *   32-bit draw: `(u32 & 0x7ff) * 2^-11`, exact in half. `torch.rand` is that value.
 * - `normal_fill_16<c10::Half>` computes in Half: every `Half op Half` is done in float and
 *   rounded back to Half (`Half-inl.h`), and `std::log/sqrt/cos/sin` of a Half resolve to the
 *   `BFloat16-math.h` templates that call the float function and return a Half. So `log(u1)`,
 *   `-2·log`, `radius`, `θ` (`2π` in double times `u2`, rounded to float then Half), `cos θ`,
 *   `sin θ` and `radius·cos θ` are each rounded to half.
 * - The layout (fill all n, transform blocks of 16, redraw 16 for the tail) is float32's.
 * torch 2.12 changed this (pytorch PR #179834, April 2026: float32 draws and the AVX2
 * transform, then a cast); this module follows 2.11, which made the oracles.
 */
import { float32ToHalfBits, float64ToHalfBits, halfBitsToNumber } from "./float16.js"
import { serialNormal } from "./kernels.js"
import type { NormalCache } from "./kernels.js"
import type { Mt19937 } from "./mt19937.js"

const fround = Math.fround
/** `2.0f * c10::pi<double>`: a double. */
const TWO_PI = 2 * Math.PI
const TWO_POW_MINUS_11 = 2 ** -11

/** A float32 value rounded to half, as a number. */
function toHalf(value: number): number {
  return halfBitsToNumber(float32ToHalfBits(value))
}

/** `uniform_real_distribution<c10::Half>(0, 1)` as half bits. */
function uniformHalfBits(engine: Mt19937): number {
  return float32ToHalfBits((engine.nextU32() & 0x7ff) * TWO_POW_MINUS_11)
}

/** `normal_fill_16<c10::Half>`: Box–Muller in place on 16 half uniforms (bit patterns). */
function boxMuller16Half(data: Uint16Array, offset: number): void {
  for (let j = offset; j < offset + 8; j++) {
    const u1 = toHalf(1 - halfBitsToNumber(data[j]!))
    const u2 = halfBitsToNumber(data[j + 8]!)
    const logU1 = toHalf(fround(Math.log(u1))) // std::log(Half) -> Half(logf)
    const radius = toHalf(fround(Math.sqrt(toHalf(-2 * logU1))))
    const theta = toHalf(fround(TWO_PI * u2)) // double -> float -> Half
    const cos = toHalf(fround(Math.cos(theta)))
    const sin = toHalf(fround(Math.sin(theta)))
    // radius * cos is exact in float (11 + 11 bits); "* std + mean" (1, 0) keeps it, -0 becomes +0.
    data[j] = float32ToHalfBits(radius * cos + 0)
    data[j + 8] = float32ToHalfBits(radius * sin + 0)
  }
}

/** `torch.randn(n, dtype=torch.float16)` bit patterns. */
export function randnHalf(engine: Mt19937, cache: NormalCache, size: number): Uint16Array {
  const data = new Uint16Array(size)
  if (size < 16) {
    for (let i = 0; i < size; i++) data[i] = float64ToHalfBits(serialNormal(engine, cache))
    return data
  }
  for (let i = 0; i < size; i++) data[i] = uniformHalfBits(engine)
  for (let i = 0; i + 16 <= size; i += 16) boxMuller16Half(data, i)
  if (size % 16 !== 0) {
    const start = size - 16
    for (let i = start; i < size; i++) data[i] = uniformHalfBits(engine)
    boxMuller16Half(data, start)
  }
  return data
}

/** `torch.rand(n, dtype=torch.float16)` bit patterns. */
export function randHalf(engine: Mt19937, size: number): Uint16Array {
  const data = new Uint16Array(size)
  for (let i = 0; i < size; i++) data[i] = uniformHalfBits(engine)
  return data
}
