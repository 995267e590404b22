import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { TorchGenerator } from "./torch-generator.js"

// torch 2.11 outputs: see packages/tiny-models/FIXTURES.md
const ORACLE = fileURLToPath(new URL("../../../tiny-models/oracles/torch-randn.safetensors", import.meta.url))

interface OracleTensor {
  dtype: "F32" | "F64" | "F16"
  shape: number[]
  data: Float32Array | Float64Array | Uint16Array
}

/** Minimal safetensors parse (little-endian host), so these tests stand alone. */
function readOracle(path: string): Map<string, OracleTensor> {
  const bytes = readFileSync(path)
  const headerLength = Number(bytes.readBigUInt64LE(0))
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString("utf8")) as Record<string, any>
  const base = 8 + headerLength
  const out = new Map<string, OracleTensor>()
  for (const [key, info] of Object.entries(header)) {
    if (key === "__metadata__") continue
    const [begin, end] = info.data_offsets as [number, number]
    const raw = bytes.buffer.slice(bytes.byteOffset + base + begin, bytes.byteOffset + base + end)
    const dtype = info.dtype as OracleTensor["dtype"]
    const data =
      dtype === "F32" ? new Float32Array(raw) : dtype === "F64" ? new Float64Array(raw) : new Uint16Array(raw)
    out.set(key, { dtype, shape: info.shape as number[], data })
  }
  return out
}

const oracle = readOracle(ORACLE)

function parseShape(text: string): number[] {
  return text.split("x").map(Number)
}

/** Units in the last place between two floats of the same width, through their bit patterns. */
function ulpDistance(a: number, b: number, width: 32 | 64): number {
  if (Object.is(a, b)) return 0
  if (width === 32) {
    const view = new Int32Array(new Float32Array([a, b]).buffer)
    const ia = view[0]! < 0 ? -2147483648 - view[0]! : view[0]!
    const ib = view[1]! < 0 ? -2147483648 - view[1]! : view[1]!
    return Math.abs(ia - ib)
  }
  const view = new BigInt64Array(new Float64Array([a, b]).buffer)
  const lexical = (x: bigint) => (x < 0n ? -(1n << 63n) - x : x)
  const diff = lexical(view[0]!) - lexical(view[1]!)
  return Number(diff < 0n ? -diff : diff)
}

function mismatches(actual: ArrayLike<number>, expected: ArrayLike<number>, width: 32 | 64) {
  let count = 0
  let maxUlp = 0
  for (let i = 0; i < expected.length; i++) {
    const ulp = ulpDistance(actual[i]!, expected[i]!, width)
    if (ulp > 0) count++
    if (ulp > maxUlp) maxUlp = ulp
  }
  return { count, maxUlp }
}

describe("TorchGenerator against torch 2.11 (oracle file)", () => {
  const singles = [...oracle.keys()].filter((k) => /^(f32|f64|rand\.f32)\.seed\d+\./.test(k))

  it("the oracle holds the expected keys", () => {
    expect(singles.length).toBeGreaterThanOrEqual(12)
  })

  for (const key of singles) {
    it(key, () => {
      const match = /^(rand\.)?(f32|f64)\.seed(\d+)\.(.+)$/.exec(key)!
      const [, isRand, kind, seed, shapeText] = match
      const expected = oracle.get(key)!
      const shape = parseShape(shapeText!)
      expect(shape).toEqual(expected.shape)
      const generator = new TorchGenerator(BigInt(seed!))
      const dtype = kind === "f64" ? "float64" : "float32"
      const actual = isRand ? generator.rand(shape, { dtype }) : generator.randn(shape, { dtype })
      expect(actual.shape).toEqual(shape)
      expect(actual.dtype).toBe(dtype)
      const result = mismatches(actual.data as Float32Array, expected.data as Float32Array, dtype === "float64" ? 64 : 32)
      if (dtype === "float32") expect(result).toEqual({ count: 0, maxUlp: 0 })
      else expect(result.maxUlp).toBeLessThanOrEqual(1)
    })
  }

  it("seq.seed5.*: successive calls on one generator continue the stream", () => {
    const calls = [...oracle.keys()]
      .map((key) => /^seq\.seed(\d+)\.call(\d+)\.(.+)$/.exec(key))
      .filter((m): m is RegExpExecArray => m !== null)
      .sort((a, b) => Number(a[2]) - Number(b[2]))
    expect(calls.length).toBeGreaterThanOrEqual(5)
    const generator = new TorchGenerator(Number(calls[0]![1]))
    for (const call of calls) {
      const expected = oracle.get(call[0])!
      const actual = generator.randn(parseShape(call[3]!))
      expect(mismatches(actual.data as Float32Array, expected.data as Float32Array, 32), call[0]).toEqual({
        count: 0,
        maxUlp: 0,
      })
    }
  })
})

describe("TorchGenerator properties", () => {
  it("successive rand calls continue one stream", () => {
    const a = new TorchGenerator(3)
    const joined = [...a.rand([10]).data, ...a.rand([2, 3]).data]
    expect(joined).toEqual([...new TorchGenerator(3).rand([16]).data])
  })

  it("randn after other draws starts where they stopped", () => {
    const a = new TorchGenerator(11)
    a.rand([3])
    const b = new TorchGenerator(11)
    for (let i = 0; i < 3; i++) b.nextU32()
    expect(a.randn([40]).data).toEqual(b.randn([40]).data)
  })

  it("the serial path (numel < 16) caches the second Box–Muller value across calls, like torch", () => {
    const one = new TorchGenerator(8)
    const pair = [one.randn([1]).data[0], one.randn([1]).data[0]]
    expect(pair).toEqual([...new TorchGenerator(8).randn([2]).data])
  })

  it("seeds of 2^32 and above use their low 32 bits", () => {
    const expected = new TorchGenerator(42).randn([64]).data
    expect(new TorchGenerator((1n << 32n) + 42n).randn([64]).data).toEqual(expected)
    expect(new TorchGenerator(2 ** 40 + 42).randn([64]).data).toEqual(expected)
    expect(new TorchGenerator((1n << 64n) - 1n).rand([4]).data).toEqual(new TorchGenerator(0xffffffff).rand([4]).data)
    expect(new TorchGenerator(5n).seed).toBe(5n)
  })

  it("rejects seeds that are not integers in [0, 2^64)", () => {
    for (const bad of [-1, 1.5, Number.NaN, Infinity, -1n, 1n << 64n, "3" as unknown as number]) {
      expect(() => new TorchGenerator(bad)).toThrow(/seed must be/)
    }
    try {
      new TorchGenerator(-3)
    } catch (error) {
      expect((error as { code: string }).code).toBe("INVALID_SEED")
    }
  })

  it("rejects bad shapes and dtypes with clear messages", () => {
    const g = new TorchGenerator(0)
    expect(() => g.randn([2, -1])).toThrow(/non-negative integer/)
    expect(() => g.rand([1.5])).toThrow(/non-negative integer/)
    expect(() => g.randn([2], { dtype: "int32" as never })).toThrow(/dtype must be one of float32, float64, float16/)
  })

  it("empty shapes draw nothing; a scalar shape draws one value", () => {
    const g = new TorchGenerator(4)
    expect(g.randn([0, 3]).size).toBe(0)
    expect(g.randn([]).data).toEqual(new TorchGenerator(4).randn([1]).data)
  })

  it("getState/setState and clone resume the stream, cached normal included", () => {
    const g = new TorchGenerator(21)
    g.randn([3]) // leaves a cached value
    const state = g.getState()
    const copy = g.clone()
    const next = [...g.randn([5]).data, ...g.randn([20]).data]
    expect([...copy.randn([5]).data, ...copy.randn([20]).data]).toEqual(next)
    g.setState(state)
    expect([...g.randn([5]).data, ...g.randn([20]).data]).toEqual(next)
    expect(() => g.setState({ ...state, words: new Uint32Array(5) })).toThrow(/624 words/)
    expect(() => g.setState({ ...state, nextDoubleNormal: "x" as never })).toThrow(/nextDoubleNormal/)
  })

  it("uniforms have torch's resolution: 2^-24 (float32), 2^-53 (float64), 2^-11 (float16)", () => {
    const g = new TorchGenerator(1)
    for (const [dtype, scale] of [["float32", 2 ** 24], ["float64", 2 ** 53]] as const) {
      for (const v of g.rand([256], { dtype }).data as Float64Array) {
        expect(v >= 0 && v < 1 && Number.isInteger(v * scale)).toBe(true)
      }
    }
    const halves = g.rand([256], { dtype: "float16" })
    expect(halves.dtype).toBe("float16")
    for (const bits of halves.data as Uint16Array) {
      const v = halfValue(bits)
      expect(v >= 0 && v < 1 && Number.isInteger(v * 2048)).toBe(true)
    }
  })

  it("float16 randn below 16 elements is the float64 serial draw rounded to half", () => {
    const wide = new TorchGenerator(6).randn([7], { dtype: "float64" }).data as Float64Array
    const half = new TorchGenerator(6).randn([7], { dtype: "float16" }).data as Uint16Array
    for (let i = 0; i < 7; i++) expect(Math.abs(halfValue(half[i]!) - wide[i]!)).toBeLessThanOrEqual(Math.abs(wide[i]!) * 2 ** -11)
  })

  it("float16 randn of 4096 values looks standard normal and consumes one draw per element", () => {
    const g = new TorchGenerator(123)
    const values = Array.from(g.randn([4096 + 5], { dtype: "float16" }).data as Uint16Array, halfValue)
    const mean = values.reduce((s, v) => s + v, 0) / values.length
    const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length
    expect(Math.abs(mean)).toBeLessThan(0.06)
    expect(Math.abs(variance - 1)).toBeLessThan(0.08)
    // n uniforms, then 16 more for the tail
    const h = new TorchGenerator(123)
    for (let i = 0; i < 4096 + 5 + 16; i++) h.nextU32()
    expect(g.nextU32()).toBe(h.nextU32())
  })

  it("randn of 1x4x128x128 float32 takes well under 50 ms", () => {
    const g = new TorchGenerator(0)
    g.randn([1, 4, 128, 128]) // warm up
    let best = Infinity
    for (let i = 0; i < 3; i++) {
      const start = performance.now()
      g.randn([1, 4, 128, 128])
      best = Math.min(best, performance.now() - start)
    }
    expect(best).toBeLessThan(50)
  })
})

function halfValue(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exponent = (bits >> 10) & 0x1f
  const mantissa = bits & 0x3ff
  return exponent === 0 ? sign * mantissa * 2 ** -24 : sign * (1024 + mantissa) * 2 ** (exponent - 25)
}
