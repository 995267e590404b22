// Test support (not exported): runs a shared scheduler oracle case (`tiny-models/oracles/schedulers/NN-*.json`
// + `.safetensors`) through the `Scheduler` interface alone and reports the largest errors.
import { readFileSync } from "node:fs"
import { Tensor, TorchGenerator } from "@pagkit/tensor"
import type { Scheduler, SchedulerConfig } from "../scheduler.js"
import { f32 } from "./dpm-math.js"

/** The json half of an oracle case. */
export interface OracleMeta {
  readonly class: string
  readonly config: SchedulerConfig
  readonly steps: number
  readonly timesteps: readonly number[]
  readonly sigmas?: readonly number[]
  readonly init_noise_sigma: number
  readonly order: number
  readonly add_noise_timestep: number
}

/** A loaded case: metadata and float32 tensors by name. */
export interface OracleCase {
  readonly meta: OracleMeta
  readonly tensors: ReadonlyMap<string, Tensor<"float32">>
}

/** Parses json that may contain Python's `Infinity` / `-Infinity` / `NaN` literals. */
export function parsePythonJson(text: string): unknown {
  const marked = text.replace(/(?<=[:,[\s])(-?)(Infinity|NaN)(?=[\s,\]}])/g, '"__py_$1$2"')
  return JSON.parse(marked, (_key, value: unknown) => {
    if (value === "__py_Infinity") return Infinity
    if (value === "__py_-Infinity") return -Infinity
    if (value === "__py_NaN") return NaN
    return value
  })
}

/** Reads the F32 tensors of a safetensors file. */
export function readF32Safetensors(path: string): Map<string, Tensor<"float32">> {
  const bytes = readFileSync(path)
  const headerLength = Number(bytes.readBigUInt64LE(0))
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString("utf8")) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >
  const base = 8 + headerLength
  const out = new Map<string, Tensor<"float32">>()
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__" || entry.dtype !== "F32") continue
    const [begin, end] = entry.data_offsets
    const copy = bytes.subarray(base + begin, base + end)
    const data = new Float32Array(new Uint8Array(copy).buffer)
    out.set(name, new Tensor("float32", data, entry.shape))
  }
  return out
}

/** Loads `dir/name.json` + `dir/name.safetensors`. */
export function loadOracleCase(dir: string, name: string): OracleCase {
  const meta = parsePythonJson(readFileSync(`${dir}/${name}.json`, "utf8")) as OracleMeta
  return { meta, tensors: readF32Safetensors(`${dir}/${name}.safetensors`) }
}

/** The synthetic model of the cases: `0.3·x·cos(t/1000) + 0.1·sin(arange(n)·0.37 + t/100 + k)`, float32. */
export function syntheticModel(x: Float32Array, t: number, k: number): Float32Array {
  const cosT = f32(Math.cos(f32(t / 1000)))
  const shift = f32(t / 100)
  const out = new Float32Array(x.length)
  for (let i = 0; i < x.length; i++) {
    const phase = f32(f32(f32(i * f32(0.37)) + shift) + k)
    out[i] = f32(f32(0.3 * x[i]!) * cosT) + f32(0.1 * f32(Math.sin(phase)))
  }
  return out
}

/** What {@link runOracleCase} measured. */
export interface OracleResult {
  /** Largest `|x - ref| / max(1, |ref|)` over every step. */
  readonly maxStepError: number
  /** The same for `add_noise.out`. */
  readonly addNoiseError: number
  readonly steps: number
}

/** How stochastic steps get their noise: recorded draws (`noise.{i}`) or a real `TorchGenerator(1000 + k)`. */
export type NoiseSource = "recorded" | "generator"

function relError(actual: Float32Array, expected: Float32Array): number {
  let worst = 0
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!
    const e = expected[i]!
    // NaN where diffusers gives NaN counts as a match (UniPC bh1 into a zero final sigma).
    if (Number.isNaN(a) && Number.isNaN(e)) continue
    const error = Math.abs(a - e) / Math.max(1, Math.abs(e))
    worst = Number.isNaN(error) ? Infinity : Math.max(worst, error)
  }
  return actual.length === expected.length ? worst : Infinity
}

/** Runs the step loop and the add_noise check of a case against `scheduler` (built from `meta.config`). */
export function runOracleCase(oracle: OracleCase, scheduler: Scheduler, noiseSource: NoiseSource = "recorded"): OracleResult {
  const { meta, tensors } = oracle
  const get = (name: string): Tensor<"float32"> => {
    const t = tensors.get(name)
    if (t === undefined) throw new Error(`oracle tensor ${name} missing`)
    return t
  }
  scheduler.setTimesteps(meta.steps)
  let draw = 0
  const recorded = {
    randn: (): Tensor => get(`noise.${draw++}`),
  } as unknown as TorchGenerator
  let x = get("x.init")
  let maxStepError = 0
  scheduler.timesteps.forEach((t, k) => {
    const input = scheduler.scaleModelInput(x, t)
    const eps = new Tensor("float32", syntheticModel(input.data, t, k), x.shape)
    const generator = noiseSource === "recorded" ? recorded : new TorchGenerator(1000 + k)
    x = scheduler.step(eps, t, x, { generator }).prevSample
    maxStepError = Math.max(maxStepError, relError(x.data, get(`x.step${k}`).data))
  })
  // diffusers' generator called set_begin_index after the loop, so index-based schedulers still use their
  // step index (N) there.
  scheduler.setBeginIndex(Math.floor(meta.steps / 2))
  const noisy = scheduler.addNoise(get("add_noise.x0"), get("add_noise.noise"), [meta.add_noise_timestep])
  const addNoiseError = relError(noisy.data, get("add_noise.out").data)
  return { maxStepError, addNoiseError, steps: scheduler.timesteps.length }
}

/** Everything a test checks for one case. */
export interface OracleReport extends OracleResult {
  readonly meta: OracleMeta
  readonly timesteps: readonly number[]
  /** Largest relative difference of the sigma table (float32 tables may differ by an ulp from torch's). */
  readonly sigmaError: number
  readonly initNoiseSigma: number
  readonly order: number
}

/** Loads a case, builds its scheduler with `factory(meta.config)`, and runs it. */
export function oracleReport(
  dir: string,
  name: string,
  factory: (config: SchedulerConfig) => Scheduler,
  noiseSource: NoiseSource = "recorded",
): OracleReport {
  const oracle = loadOracleCase(dir, name)
  const scheduler = factory(oracle.meta.config)
  scheduler.setTimesteps(oracle.meta.steps)
  const timesteps = [...scheduler.timesteps]
  const sigmas = scheduler.sigmas ?? []
  const expected = oracle.meta.sigmas ?? []
  let sigmaError = sigmas.length === expected.length ? 0 : Infinity
  expected.forEach((s, i) => {
    sigmaError = Math.max(sigmaError, Math.abs((sigmas[i] ?? NaN) - s) / Math.max(1, Math.abs(s)))
  })
  const result = runOracleCase(oracle, scheduler, noiseSource)
  return {
    ...result,
    meta: oracle.meta,
    timesteps,
    sigmaError: Number.isNaN(sigmaError) ? Infinity : sigmaError,
    initNoiseSigma: scheduler.initNoiseSigma,
    order: scheduler.order,
  }
}

/** The folder of the shared scheduler oracles, relative to this package. */
export const SCHEDULER_ORACLES = new URL("../../../tiny-models/oracles/schedulers", import.meta.url)
