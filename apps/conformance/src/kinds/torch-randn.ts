import path from "node:path"
import { TorchGenerator, readSafetensors } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import type { CaseKind, CaseResult } from "../kind.js"
import { TOLERANCES } from "../tolerances.js"

/**
 * `torch-randn*.safetensors`: outputs of `torch.randn` / `torch.rand` on fresh
 * `torch.Generator("cpu").manual_seed(S)` generators, and of successive calls on one generator.
 *
 * Key forms (dot-separated tokens, any order except the shape last):
 * `[seq.][rand.|randn.][f32.|f64.|f16.]seed{S}.[call{j}.]{shape}`, shape `AxBxC` (or `scalar`).
 * `seq` keys with the same seed share one generator, called in order of `j`. Without a dtype token
 * the stored tensor's dtype is used.
 */

const NAME = "torch-randn"
const DTYPE_TOKENS: Record<string, RandomDType> = {
  f32: "float32",
  float32: "float32",
  f64: "float64",
  float64: "float64",
  f16: "float16",
  float16: "float16",
}
const EXPECTED_FORM = "[seq.][rand.][f32|f64|f16.]seed{S}.[call{j}.]{AxBxC}"

type RandomDType = "float32" | "float64" | "float16"

interface ParsedKey {
  readonly key: string
  readonly sequence: boolean
  readonly op: "randn" | "rand"
  readonly dtype: RandomDType | undefined
  readonly seed: bigint
  readonly call: number
  readonly shape: number[] | undefined
}

/** Parses a key, or returns why it does not fit the expected form. */
function parseKey(key: string): ParsedKey | string {
  const tokens = key.split(".")
  const shapeToken = tokens.pop() ?? ""
  let shape: number[] | undefined
  if (shapeToken === "scalar") shape = []
  else if (/^\d+(x\d+)*$/.test(shapeToken)) shape = shapeToken.split("x").map(Number)
  else return `last token "${shapeToken}" is not a shape like 1x4x8x8`
  let sequence = false
  let op: "randn" | "rand" = "randn"
  let dtype: RandomDType | undefined
  let seed: bigint | undefined
  let call = 0
  for (const token of tokens) {
    let match: RegExpExecArray | null
    if (token === "seq") sequence = true
    else if (token === "rand" || token === "randn") op = token
    else if (token in DTYPE_TOKENS) dtype = DTYPE_TOKENS[token]
    else if ((match = /^seed(\d+)$/.exec(token)) !== null) seed = BigInt(match[1]!)
    else if ((match = /^call(\d+)$/.exec(token)) !== null) call = Number(match[1])
    else return `unknown token "${token}"`
  }
  if (seed === undefined) return "no seed{S} token"
  return { key, sequence, op, dtype, seed, call, shape }
}

function dtypeOf(tensor: Tensor): RandomDType | undefined {
  return tensor.dtype === "float32" || tensor.dtype === "float64" || tensor.dtype === "float16" ? tensor.dtype : undefined
}

/** Bit patterns mapped to order-preserving integers, so an ulp distance is a difference. */
function orderedBits(tensor: Tensor, dtype: RandomDType): BigInt64Array {
  const n = tensor.size
  const out = new BigInt64Array(n)
  if (dtype === "float16") {
    const bits = tensor.data as Uint16Array
    for (let i = 0; i < n; i++) out[i] = BigInt(bits[i]! & 0x8000 ? -(bits[i]! & 0x7fff) : bits[i]!)
  } else if (dtype === "float32") {
    const bits = new Int32Array(Float32Array.from(tensor.data as Float32Array).buffer)
    for (let i = 0; i < n; i++) out[i] = BigInt(bits[i]! < 0 ? -2147483648 - bits[i]! : bits[i]!)
  } else {
    const bits = new BigInt64Array(Float64Array.from(tensor.data as Float64Array).buffer)
    for (let i = 0; i < n; i++) out[i] = bits[i]! < 0n ? -(1n << 63n) - bits[i]! : bits[i]!
  }
  return out
}

function isNaNAt(tensor: Tensor, index: number, dtype: RandomDType): boolean {
  if (dtype === "float16") return ((tensor.data as Uint16Array)[index]! & 0x7fff) > 0x7c00
  return Number.isNaN((tensor.data as Float32Array)[index]!)
}

function compare(parsed: ParsedKey, actual: Tensor, expected: Tensor, dtype: RandomDType): CaseResult {
  const name = `${NAME} ${parsed.key}`
  const tolerance = dtype === "float64" ? BigInt(TOLERANCES["torch-randn"].float64MaxUlp) : 0n
  const n = expected.size
  const actualBits = orderedBits(actual, dtype)
  const expectedBits = orderedBits(expected, dtype)
  let differing = 0
  let maxUlp = 0n
  for (let i = 0; i < n; i++) {
    if (isNaNAt(actual, i, dtype) && isNaNAt(expected, i, dtype)) continue
    let ulp = actualBits[i]! - expectedBits[i]!
    if (ulp < 0n) ulp = -ulp
    if (ulp > 0n) differing++
    if (ulp > maxUlp) maxUlp = ulp
  }
  const what = `${parsed.op} ${dtype} [${expected.shape.join(", ")}]`
  if (maxUlp <= tolerance) {
    const exact = differing === 0 ? "bit-exact" : `${differing} of ${n} within ${maxUlp} ulp`
    return { name, status: "pass", detail: `${what}: ${exact} (tolerance ${tolerance} ulp)` }
  }
  return {
    name,
    status: "fail",
    detail: `${what}: ${differing} of ${n} values differ, max ${maxUlp} ulp (tolerance ${tolerance} ulp)`,
  }
}

/** Draws one key's tensor from `generator` and compares it; never throws. */
function runOne(parsed: ParsedKey, expected: Tensor, generator: TorchGenerator): CaseResult {
  const name = `${NAME} ${parsed.key}`
  try {
    const stored = dtypeOf(expected)
    if (stored === undefined) {
      return { name, status: "fail", detail: `stored tensor is ${expected.dtype}: expected float32, float64 or float16` }
    }
    const dtype = parsed.dtype ?? stored
    if (dtype !== stored) {
      return { name, status: "fail", detail: `key says ${dtype} but the stored tensor is ${stored}` }
    }
    const shape = parsed.shape ?? [...expected.shape]
    if (shape.length !== expected.shape.length || shape.some((d, i) => d !== expected.shape[i])) {
      return {
        name,
        status: "fail",
        detail: `key shape [${shape.join(", ")}] differs from the stored shape [${expected.shape.join(", ")}]`,
      }
    }
    const actual = parsed.op === "rand" ? generator.rand(shape, { dtype }) : generator.randn(shape, { dtype })
    return compare(parsed, actual, expected, dtype)
  } catch (error) {
    return { name, status: "fail", detail: `error: ${(error as Error).message}` }
  }
}

/** Conformance of {@link TorchGenerator} against torch's CPU generator outputs. */
export const torchRandnKind: CaseKind = {
  name: NAME,
  tolerances: "float32 and float16 bit-exact; float64 <= 1 ulp",
  detect: (file) => {
    const base = path.basename(file.relPath)
    return base.startsWith("torch-randn") && base.endsWith(".safetensors") && file.tensorsPath !== undefined
  },
  run: async (file) => {
    const tensors = await readSafetensors(file.tensorsPath ?? file.path)
    const results: CaseResult[] = []
    const sequences = new Map<string, { parsed: ParsedKey; tensor: Tensor }[]>()
    for (const [key, tensor] of tensors) {
      const parsed = parseKey(key)
      if (typeof parsed === "string") {
        results.push({
          name: `${NAME} ${key}`,
          status: "fail",
          detail: `key form not understood (${parsed}); expected ${EXPECTED_FORM}`,
        })
      } else if (parsed.sequence) {
        const group = sequences.get(parsed.seed.toString()) ?? []
        group.push({ parsed, tensor })
        sequences.set(parsed.seed.toString(), group)
      } else {
        results.push(runOne(parsed, tensor, new TorchGenerator(parsed.seed)))
      }
    }
    for (const group of sequences.values()) {
      group.sort((a, b) => a.parsed.call - b.parsed.call)
      const generator = new TorchGenerator(group[0]!.parsed.seed)
      for (const { parsed, tensor } of group) results.push(runOne(parsed, tensor, generator))
    }
    return results
  },
}
