/**
 * @pagkit/schedulers/testing: runs one scheduler oracle case (`schedulers/NN-Class-STEPS.{json,safetensors}` in
 * `packages/tiny-models/oracles` or `packages/schedulers/test-data`) the way diffusers' generator script did: the
 * synthetic model, `TorchGenerator(1000 + k)` per step, `add_noise` after `set_begin_index(steps // 2)`. Used by
 * this package's tests and by the conformance runner's `scheduler` kind.
 * @module
 */
import { Tensor, TorchGenerator } from "@pagkit/tensor"
import type { Scheduler } from "./scheduler.js"

/**
 * The synthetic model of the oracles, in float32:
 * `0.3·x·cos(t/1000) + 0.1·sin(arange(n)·0.37 + t/100 + k)` (test-data/generate.py `model`).
 */
export function syntheticModel(x: Tensor<"float32">, t: number, k: number): Tensor<"float32"> {
  const out = new Float32Array(x.data.length)
  const f32 = Math.fround
  const scale = f32(0.3 * f32(Math.cos(f32(t / 1000))))
  const shift = f32(t / 100)
  for (let i = 0; i < out.length; i++) {
    out[i] = f32(scale * x.data[i]!) + f32(0.1 * f32(Math.sin(f32(f32(f32(i * 0.37) + shift) + k))))
  }
  return new Tensor("float32", out, x.shape)
}

/** One measured comparison of an oracle run. */
export interface OracleCheck {
  /** `timesteps`, `init_noise_sigma`, `order`, `sigmas`, `x.step{k}`, `noise draws (…)`, `noise.{i}`, `add_noise`. */
  readonly what: string
  /** max |ours − ref| / max(1, |ref|) over the elements (or the absolute difference for scalars). */
  readonly error: number
}

/**
 * Max over elements of |a − b| / max(1, |b|). Equal infinities and NaN against NaN count as equal (diffusers
 * itself overflows on some configs); Infinity when the sizes differ or only one side is finite.
 */
export function relativeError(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (ours.length !== ref.length) return Infinity
  let worst = 0
  for (let i = 0; i < ref.length; i++) {
    const a = ours[i]!
    const b = ref[i]!
    if (a === b || (Number.isNaN(a) && Number.isNaN(b))) continue
    const e = Math.abs(a - b) / Math.max(1, Math.abs(b))
    worst = Number.isNaN(e) ? Infinity : Math.max(worst, e)
  }
  return worst
}

/** Where stochastic steps get their noise: a real `TorchGenerator(1000 + k)`, or the oracle's `noise.{i}` draws. */
export type OracleNoise = "generator" | "recorded"

/** Inputs of {@link runSchedulerOracle}. */
export interface SchedulerOracle {
  /** The case's json: `steps`, `timesteps`, `sigmas?`, `init_noise_sigma`, `order`, `add_noise_timestep`. */
  readonly meta: Readonly<Record<string, any>>
  /** The case's tensors: `x.init`, `x.step{k}`, `noise.{i}`, `add_noise.{x0,noise,out}`. */
  readonly tensors: ReadonlyMap<string, Tensor>
  /** Builds the scheduler of the case (from `meta.class` and `meta.config`). */
  readonly build: () => Scheduler
  /** Default `"generator"`. `"recorded"` isolates the scheduler's arithmetic from the RNG. */
  readonly noise?: OracleNoise
}

/** What {@link runSchedulerOracle} measured, and the scheduler it ran (to inspect its tables). */
export interface SchedulerOracleRun {
  readonly checks: OracleCheck[]
  readonly scheduler: Scheduler
}

const asFloat32 = (t: Tensor): Tensor<"float32"> =>
  t.dtype === "float32"
    ? (t as Tensor<"float32">)
    : new Tensor("float32", Float32Array.from(t.data as ArrayLike<number>), t.shape)

/** A generator for step `k` that records every `randn` draw (to compare with the oracle's `noise.{i}`). */
function drawingGenerator(oracle: SchedulerOracle, k: number, draws: Tensor[]): TorchGenerator {
  if (oracle.noise === "recorded") {
    const replay = () => {
      const drawn = oracle.tensors.get(`noise.${draws.length}`)
      if (drawn === undefined) throw new Error(`the scheduler drew noise #${draws.length}, but the oracle recorded only ${draws.length} draws`)
      draws.push(drawn)
      return drawn
    }
    return { randn: replay } as unknown as TorchGenerator
  }
  const generator = new TorchGenerator(1000 + k)
  const randn = generator.randn.bind(generator)
  generator.randn = ((shape, options) => {
    const drawn = randn(shape, options)
    draws.push(drawn)
    return drawn
  }) as typeof generator.randn
  return generator
}

/**
 * Runs a case: `set_timesteps(steps)`, the denoising loop with {@link syntheticModel}, then `add_noise`. Returns
 * every comparison, in order (tables first, then each step, the noise draws, add_noise). Comparisons whose
 * reference tensor is absent are skipped. Throws when `x.init` is missing.
 *
 * @example
 * const { checks } = runSchedulerOracle({ meta, tensors, build: () => createScheduler({ ...meta.config, _class_name: meta.class }) })
 * const failed = checks.filter((c) => !(c.error <= 1e-5))
 */
export function runSchedulerOracle(oracle: SchedulerOracle): SchedulerOracleRun {
  const { meta, tensors } = oracle
  const steps = meta["steps"] as number
  const scheduler = oracle.build()
  scheduler.setTimesteps(steps)
  const checks: OracleCheck[] = [
    { what: "timesteps", error: relativeError(scheduler.timesteps, meta["timesteps"] as number[]) },
    { what: "init_noise_sigma", error: relativeError([scheduler.initNoiseSigma], [meta["init_noise_sigma"] as number]) },
    { what: "order", error: scheduler.order === meta["order"] ? 0 : Infinity },
  ]
  if (Array.isArray(meta["sigmas"])) {
    checks.push({ what: "sigmas", error: relativeError(scheduler.sigmas ?? [], meta["sigmas"] as number[]) })
  }
  const init = tensors.get("x.init")
  if (init === undefined) throw new Error("the oracle has no x.init tensor")
  let x = asFloat32(init)
  const timesteps = [...scheduler.timesteps]
  const draws: Tensor[] = []
  for (let k = 0; k < timesteps.length; k++) {
    const t = timesteps[k]!
    const modelOutput = syntheticModel(scheduler.scaleModelInput(x, t), t, k)
    x = scheduler.step(modelOutput, t, x, { generator: drawingGenerator(oracle, k, draws) }).prevSample
    const ref = tensors.get(`x.step${k}`)
    if (ref !== undefined) checks.push({ what: `x.step${k}`, error: relativeError(x.data, ref.data as ArrayLike<number>) })
  }
  const expectedDraws = [...tensors.keys()].filter((key) => /^noise\.\d+$/.test(key)).length
  if (expectedDraws > 0 || draws.length > 0) {
    checks.push({ what: `noise draws (${draws.length} of ${expectedDraws})`, error: draws.length === expectedDraws ? 0 : Infinity })
    draws.forEach((drawn, i) => {
      const ref = tensors.get(`noise.${i}`)
      if (ref !== undefined) {
        checks.push({ what: `noise.${i}`, error: relativeError(drawn.data as ArrayLike<number>, ref.data as ArrayLike<number>) })
      }
    })
  }
  const x0 = tensors.get("add_noise.x0")
  const noise = tensors.get("add_noise.noise")
  const out = tensors.get("add_noise.out")
  if (x0 !== undefined && noise !== undefined && out !== undefined && typeof meta["add_noise_timestep"] === "number") {
    // as the generator script: set_begin_index(N // 2), then add_noise on the scheduler that ran the loop
    scheduler.setBeginIndex(Math.floor(steps / 2))
    const noisy = scheduler.addNoise(asFloat32(x0), asFloat32(noise), [meta["add_noise_timestep"]])
    checks.push({ what: "add_noise", error: relativeError(noisy.data, out.data as ArrayLike<number>) })
  }
  return { checks, scheduler }
}
