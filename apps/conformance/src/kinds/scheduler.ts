// Scheduler oracle cases (`schedulers/NN-Class-STEPS.{json,safetensors}`): build the scheduler from the case's
// config, run diffusers' synthetic denoising loop and compare every intermediate latent.
import { createScheduler } from "@pagkit/schedulers"
import type { Scheduler } from "@pagkit/schedulers"
import { Tensor, TorchGenerator, readSafetensors } from "@pagkit/tensor"
import type { CaseFile, CaseKind, CaseResult } from "../kind.js"

/** Relative tolerance of every comparison: |ours − ref| ≤ TOLERANCE · max(1, |ref|). */
const TOLERANCE = 1e-5

/** The synthetic model of the oracles: `0.3·x·cos(t/1000) + 0.1·sin(arange(n)·0.37 + t/100 + k)`, float32. */
function syntheticModel(x: Tensor<"float32">, t: number, k: number): Tensor<"float32"> {
  const f32 = Math.fround
  const out = new Float32Array(x.data.length)
  const scale = f32(0.3 * f32(Math.cos(f32(t / 1000))))
  const shift = f32(t / 100)
  for (let i = 0; i < out.length; i++) {
    out[i] = f32(scale * x.data[i]!) + f32(0.1 * f32(Math.sin(f32(f32(f32(i * 0.37) + shift) + k))))
  }
  return new Tensor("float32", out, x.shape)
}

/** max |a − b| / max(1, |b|); equal infinities and NaN vs NaN count as equal (diffusers overflows on some configs). */
function relativeError(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
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

const asFloat32 = (t: Tensor): Tensor<"float32"> =>
  t.dtype === "float32"
    ? (t as Tensor<"float32">)
    : new Tensor("float32", Float32Array.from(t.data as ArrayLike<number>), t.shape)

interface Check {
  readonly what: string
  readonly error: number
}

/** Runs one case and returns every comparison, in order. */
async function runCase(file: CaseFile): Promise<Check[]> {
  const meta = file.meta
  if (file.tensorsPath === undefined) throw new Error(`no .safetensors next to ${file.relPath}`)
  const tensors = await readSafetensors(file.tensorsPath)
  const steps = meta["steps"] as number
  const scheduler: Scheduler = createScheduler({
    ...(meta["config"] as Record<string, unknown>),
    _class_name: meta["class"] as string,
  })
  scheduler.setTimesteps(steps)
  const checks: Check[] = [
    { what: "timesteps", error: relativeError(scheduler.timesteps, meta["timesteps"] as number[]) },
    {
      what: "init_noise_sigma",
      error: relativeError([scheduler.initNoiseSigma], [meta["init_noise_sigma"] as number]),
    },
    { what: "order", error: scheduler.order === meta["order"] ? 0 : Infinity },
  ]
  if (Array.isArray(meta["sigmas"])) {
    checks.push({ what: "sigmas", error: relativeError(scheduler.sigmas ?? [], meta["sigmas"] as number[]) })
  }
  const init = tensors.get("x.init")
  if (init === undefined) throw new Error(`${file.relPath} has no x.init tensor`)
  let x = asFloat32(init)
  const timesteps = [...scheduler.timesteps]
  const draws: Tensor[] = []
  for (let k = 0; k < timesteps.length; k++) {
    const t = timesteps[k]!
    const modelOutput = syntheticModel(scheduler.scaleModelInput(x, t), t, k)
    x = scheduler.step(modelOutput, t, x, { generator: recordingGenerator(1000 + k, draws) }).prevSample
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
    // as the generator script: set_begin_index(N // 2), then add_noise on the scheduler that ran the loop
    scheduler.setBeginIndex(Math.floor(steps / 2))
    const noisy = scheduler.addNoise(asFloat32(x0), asFloat32(noise), [meta["add_noise_timestep"]])
    checks.push({ what: "add_noise", error: relativeError(noisy.data, out.data as ArrayLike<number>) })
  }
  return checks
}

/** Scheduler cases: timesteps, sigmas, init_noise_sigma, order, every step's latents and add_noise. */
export const schedulerKind: CaseKind = {
  name: "scheduler",
  tolerances: `scheduler: timesteps, sigmas, init_noise_sigma, x.step{k}, noise.{i}, add_noise within ${TOLERANCE}·max(1, |ref|); order and number of noise draws exact`,
  detect: (file) =>
    typeof file.meta["class"] === "string" &&
    typeof file.meta["config"] === "object" &&
    typeof file.meta["steps"] === "number",
  async run(file): Promise<CaseResult[]> {
    const name = `scheduler ${file.relPath}`
    const checks = await runCase(file)
    const worst = checks.reduce((a, b) => (b.error > a.error ? b : a))
    const failed = checks.filter((c) => !(c.error <= TOLERANCE))
    const steps = checks.filter((c) => c.what.startsWith("x.step")).length
    if (failed.length > 0) {
      const list = failed
        .slice(0, 4)
        .map((c) => `${c.what} ${c.error.toExponential(2)}`)
        .join(", ")
      return [
        {
          name,
          status: "fail",
          detail: `${failed.length} of ${checks.length} checks over ${TOLERANCE}: ${list}${failed.length > 4 ? ", …" : ""}`,
        },
      ]
    }
    return [
      {
        name,
        status: "pass",
        detail: `${steps} steps, max rel err ${worst.error.toExponential(2)} (${worst.what}) ≤ ${TOLERANCE}`,
      },
    ]
  },
}
