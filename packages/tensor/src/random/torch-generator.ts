import { Tensor, checkShape, shapeSize } from "../tensor.js"
import type { Shape } from "../tensor.js"
import { InvalidGeneratorStateError, InvalidSeedError, UnsupportedRandomDTypeError } from "./errors.js"
import { randnHalf, randHalf } from "./half-kernels.js"
import {
  normalFillFloat32,
  normalFillFloat64,
  serialNormal,
  uniformFloat32,
  uniformFloat64,
} from "./kernels.js"
import type { NormalCache } from "./kernels.js"
import { Mt19937 } from "./mt19937.js"

/** Element type of a random draw. */
export type RandomDType = "float32" | "float64" | "float16"

/** Options of {@link TorchGenerator.randn} and {@link TorchGenerator.rand}. */
export interface RandomOptions<D extends RandomDType = RandomDType> {
  /** Element type of the result (default `"float32"`). `float16` data are half bit patterns. */
  readonly dtype?: D
}

/** A snapshot of a {@link TorchGenerator}, from `getState()`, for `setState()`. */
export interface TorchGeneratorState {
  /** The 624 MT19937 words. */
  readonly words: Uint32Array
  /** Read position in `words` (624: a new block is generated at the next draw). */
  readonly index: number
  /** The cached second Box–Muller value of the serial (numel < 16) normal path, if any. */
  readonly nextDoubleNormal: number | undefined
}

const TWO_POW_64 = 1n << 64n
const DTYPES: readonly string[] = ["float32", "float64", "float16"]

/**
 * Reproduces `torch.Generator("cpu").manual_seed(seed)` on x86 (AVX2) builds: `randn` and `rand`
 * return the same numbers as `torch.randn(shape, generator=g, dtype=…)` / `torch.rand(…)` —
 * bit for bit in float32 — and successive calls continue the same stream, as in torch.
 * float64 uses glibc-accurate log/sin/cos; float16 follows torch 2.11's Half arithmetic
 * (see `half-kernels.ts`).
 *
 * @example
 * const generator = new TorchGenerator(42)
 * const latents = generator.randn([1, 4, 128, 128]) // == torch.randn((1, 4, 128, 128), generator=g)
 * const next = generator.randn([4]) // continues the stream
 */
export class TorchGenerator {
  /** The seed as given. Only its low 32 bits seed the engine, as in torch. */
  readonly seed: bigint | number
  private readonly engine: Mt19937
  private readonly cache: NormalCache = { nextDoubleNormal: undefined }

  constructor(seed: number | bigint) {
    this.seed = seed
    this.engine = new Mt19937(lowSeedBits(seed))
  }

  /** Standard normal samples, as `torch.randn(shape, generator=g, dtype=…)`. */
  randn<D extends RandomDType = "float32">(shape: Shape, options?: RandomOptions<D>): Tensor<D> {
    const dtype = checkDType(options?.dtype, "randn")
    checkShape(shape, "randn shape")
    const size = shapeSize(shape)
    return this.normal(dtype, size, shape) as Tensor<D>
  }

  /** Uniform samples in [0, 1), as `torch.rand(shape, generator=g, dtype=…)`. */
  rand<D extends RandomDType = "float32">(shape: Shape, options?: RandomOptions<D>): Tensor<D> {
    const dtype = checkDType(options?.dtype, "rand")
    checkShape(shape, "rand shape")
    const size = shapeSize(shape)
    return this.uniform(dtype, size, shape) as Tensor<D>
  }

  /** The next raw 32-bit output of the engine (torch's `generator->random()`). */
  nextU32(): number {
    return this.engine.nextU32()
  }

  /** A snapshot of the stream position, to resume later with {@link TorchGenerator.setState}. */
  getState(): TorchGeneratorState {
    const { words, index } = this.engine.snapshot()
    return { words, index, nextDoubleNormal: this.cache.nextDoubleNormal }
  }

  /** Moves the stream back (or forward) to a snapshot from {@link TorchGenerator.getState}. */
  setState(state: TorchGeneratorState): void {
    const cached = state.nextDoubleNormal
    if (cached !== undefined && typeof cached !== "number") {
      throw new InvalidGeneratorStateError(
        `generator state nextDoubleNormal must be a number or undefined, found ${typeof cached}. Pass a value returned by getState().`,
      )
    }
    this.engine.restore(state)
    this.cache.nextDoubleNormal = state.nextDoubleNormal
  }

  /** An independent generator at the same stream position. */
  clone(): TorchGenerator {
    const copy = new TorchGenerator(this.seed)
    copy.setState(this.getState())
    return copy
  }

  // torch's normal_kernel: the block fill for n >= 16, the serial cached Box–Muller below.
  private normal(dtype: RandomDType, size: number, shape: Shape): Tensor {
    if (dtype === "float16") return new Tensor("float16", randnHalf(this.engine, this.cache, size), shape)
    if (dtype === "float64") {
      const data = new Float64Array(size)
      if (size >= 16) normalFillFloat64(this.engine, data)
      else for (let i = 0; i < size; i++) data[i] = serialNormal(this.engine, this.cache)
      return new Tensor("float64", data, shape)
    }
    const data = new Float32Array(size)
    if (size >= 16) normalFillFloat32(this.engine, data)
    else for (let i = 0; i < size; i++) data[i] = serialNormal(this.engine, this.cache) // rounds to float32
    return new Tensor("float32", data, shape)
  }

  // torch's uniform_kernel: one uniform per element, in order.
  private uniform(dtype: RandomDType, size: number, shape: Shape): Tensor {
    if (dtype === "float16") return new Tensor("float16", randHalf(this.engine, size), shape)
    if (dtype === "float64") {
      const data = new Float64Array(size)
      for (let i = 0; i < size; i++) data[i] = uniformFloat64(this.engine)
      return new Tensor("float64", data, shape)
    }
    const data = new Float32Array(size)
    for (let i = 0; i < size; i++) data[i] = uniformFloat32(this.engine)
    return new Tensor("float32", data, shape)
  }
}

function lowSeedBits(seed: number | bigint): number {
  let big: bigint
  if (typeof seed === "bigint") {
    big = seed
  } else if (typeof seed === "number" && Number.isInteger(seed)) {
    big = BigInt(seed)
  } else {
    throw new InvalidSeedError(
      `TorchGenerator seed must be an integer in [0, 2^64), found ${String(seed)} (${typeof seed}). Pass a whole number or a bigint.`,
    )
  }
  if (big < 0n || big >= TWO_POW_64) {
    throw new InvalidSeedError(
      `TorchGenerator seed must be in [0, 2^64), found ${big}. Pass a non-negative seed below 18446744073709551616.`,
    )
  }
  return Number(big & 0xffffffffn)
}

function checkDType(dtype: string | undefined, what: string): RandomDType {
  if (dtype === undefined) return "float32"
  if (DTYPES.includes(dtype)) return dtype as RandomDType
  throw new UnsupportedRandomDTypeError(
    `${what}: dtype must be one of ${DTYPES.join(", ")}, found ${String(dtype)}. Draw in float32 and convert if you need another type.`,
  )
}
