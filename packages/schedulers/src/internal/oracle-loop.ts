// Runs one scheduler oracle case (packages/tiny-models/oracles/schedulers/*.json + .safetensors) against a
// scheduler built from its meta, with the synthetic model the generator script used. Test-only helper: the
// conformance kind (apps/conformance/src/kinds/scheduler.ts) does the same through the public API.
import { Tensor, TorchGenerator } from "@pagkit/tensor"
import type { Scheduler } from "../scheduler.js"

/** The synthetic model of the oracles: `0.3·x·cos(t/1000) + 0.1·sin(arange(n)·0.37 + t/100 + k)`. */
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
    if (ours[i] === ref[i] || (Number.isNaN(ours[i]) && Number.isNaN(ref[i]))) continue
    const e = Math.abs(ours[i]! - ref[i]!) / Math.max(1, Math.abs(ref[i]!))
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e
  }
  return worst
}

/** Inputs of {@link runSchedulerOracle}. */
export interface SchedulerOracle {
  readonly meta: Readonly<Record<string, any>>
  readonly tensors: ReadonlyMap<string, Tensor>
  /** Builds the scheduler of the case. */
  readonly build: () => Scheduler
}

/** A generator that records every `randn` draw (to compare with the oracle's `noise.{i}`). */
function recordingGenerator(seed: number, draws: Tensor[]): TorchGenerator {
  const generator = new TorchGenerator(seed)
  const randn = generator.randn.bind(generator)
  generator.randn = ((shape, options) => {
    const drawn = randn(shape, options)
    draws.push(drawn)
    return drawn
  }) as typeof generator.randn
  return generator
}

const asF32 = (t: Tensor): Tensor<"float32"> =>
  t.dtype === "float32"
    ? (t as Tensor<"float32">)
    : new Tensor("float32", Float32Array.from(t.data as ArrayLike<number>), t.shape)

/** Runs the case and returns every comparison made (timesteps, sigmas, init sigma, order, steps, add_noise). */
export function runSchedulerOracle(oracle: SchedulerOracle): OracleCheck[] {
  const { meta, tensors } = oracle
  const checks: OracleCheck[] = []
  const scheduler = oracle.build()
  scheduler.setTimesteps(meta["steps"] as number)
  checks.push({ what: "timesteps", error: relativeError(scheduler.timesteps, meta["timesteps"] as number[]) })
  if (Array.isArray(meta["sigmas"])) {
    checks.push({ what: "sigmas", error: relativeError(scheduler.sigmas ?? [], meta["sigmas"] as number[]) })
  }
  checks.push({
    what: "init_noise_sigma",
    error: relativeError([scheduler.initNoiseSigma], [meta["init_noise_sigma"]]),
  })
  checks.push({ what: "order", error: scheduler.order === meta["order"] ? 0 : Infinity })
  const init = tensors.get("x.init")
  if (init === undefined) throw new Error("oracle has no x.init")
  let x = asF32(init)
  const timesteps = [...scheduler.timesteps]
  const draws: Tensor[] = []
  for (let k = 0; k < timesteps.length; k++) {
    const t = timesteps[k]!
    const modelInput = scheduler.scaleModelInput(x, t)
    const eps = syntheticModel(modelInput, t, k)
    x = scheduler.step(eps, t, x, { generator: recordingGenerator(1000 + k, draws) }).prevSample
    const ref = tensors.get(`x.step${k}`)
    if (ref !== undefined) {
      checks.push({ what: `x.step${k}`, error: relativeError(x.data, ref.data as ArrayLike<number>) })
    }
  }
  const expectedDraws = [...tensors.keys()].filter((key) => /^noise\.\d+$/.test(key)).length
  if (expectedDraws > 0 || draws.length > 0) {
    checks.push({
      what: `noise draws (${draws.length} of ${expectedDraws})`,
      error: draws.length === expectedDraws ? 0 : Infinity,
    })
    draws.forEach((drawn, i) => {
      const ref = tensors.get(`noise.${i}`)
      if (ref !== undefined) {
        checks.push({
          what: `noise.${i}`,
          error: relativeError(drawn.data as ArrayLike<number>, ref.data as ArrayLike<number>),
        })
      }
    })
  }
  const x0 = tensors.get("add_noise.x0")
  const noise = tensors.get("add_noise.noise")
  const out = tensors.get("add_noise.out")
  if (x0 !== undefined && noise !== undefined && out !== undefined && typeof meta["add_noise_timestep"] === "number") {
    // diffusers' script calls set_begin_index(N // 2) then add_noise on the scheduler that just ran the loop
    scheduler.setBeginIndex(Math.floor((meta["steps"] as number) / 2))
    const noisy = scheduler.addNoise(asF32(x0), asF32(noise), [meta["add_noise_timestep"]])
    checks.push({ what: "add_noise", error: relativeError(noisy.data, out.data as ArrayLike<number>) })
  }
  return checks
}
