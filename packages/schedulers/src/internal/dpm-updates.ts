// The multistep DPM-Solver updates (first, second, third order) for the four algorithm types, in float32 as
// diffusers computes them. Ported from diffusers `DPMSolverMultistepScheduler.dpm_solver_first_order_update`,
// `multistep_dpm_solver_second_order_update` and `multistep_dpm_solver_third_order_update` (also used, with
// alpha = 1, by `EDMDPMSolverMultistepScheduler`).
import { InvalidSchedulerConfigError } from "../errors.js"
import { combine, expF, f32, lambdaOf, sqrtF, subtract } from "./dpm-math.js"
import type { AlphaSigma, Term } from "./dpm-math.js"

/** `algorithm_type` of the DPM-Solver schedulers. */
export type DpmAlgorithm = "dpmsolver" | "dpmsolver++" | "sde-dpmsolver" | "sde-dpmsolver++"

/** `solver_type` of the DPM-Solver schedulers. */
export type DpmSolverType = "midpoint" | "heun"

/** Inputs of one multistep update. */
export interface MultistepUpdate {
  readonly algorithm: DpmAlgorithm
  readonly solverType: DpmSolverType
  /** `[t, s0, s1, s2]`: the target and the current/previous points (as many as the order needs + 1). */
  readonly points: readonly AlphaSigma[]
  /** Converted model outputs, newest last (`model_outputs[-1]` is m0). */
  readonly models: readonly Float32Array[]
  readonly sample: Float32Array
  /** Gaussian noise for the SDE variants. */
  readonly noise: Float32Array | undefined
}

/** The noise term `sigma_t·sqrt(1 - e^-2h)·z` (SDE++) or `sigma_t·sqrt(e^2h - 1)·z` (SDE); none for ODEs. */
export function noiseTerm(update: MultistepUpdate, t: AlphaSigma, h: number): Term[] {
  const noise = update.noise
  if (update.algorithm === "sde-dpmsolver++") {
    if (noise === undefined) throw missingNoise(update.algorithm)
    return [[f32(t.sigma * sqrtF(f32(1 - expF(f32(-2 * h))))), noise]]
  }
  if (update.algorithm === "sde-dpmsolver") {
    if (noise === undefined) throw missingNoise(update.algorithm)
    return [[f32(t.sigma * sqrtF(f32(expF(f32(2 * h)) - 1))), noise]]
  }
  return []
}

function missingNoise(algorithm: string): InvalidSchedulerConfigError {
  return new InvalidSchedulerConfigError(`${algorithm}: a stochastic update needs noise, none was drawn.`)
}

/** The coefficient of `sample`: sigma_t/sigma_s (++), times e^-h for SDE++, or alpha_t/alpha_s. */
export function sampleCoefficient(algorithm: DpmAlgorithm, t: AlphaSigma, s: AlphaSigma, h: number): number {
  if (algorithm === "dpmsolver++") return f32(t.sigma / s.sigma)
  if (algorithm === "sde-dpmsolver++") return f32(f32(t.sigma / s.sigma) * expF(-h))
  return f32(t.alpha / s.alpha)
}

/** `dpm_solver_first_order_update` (DDIM-like step from s to t with one model output). */
export function firstOrderUpdate(update: MultistepUpdate): Float32Array {
  const [t, s] = update.points as [AlphaSigma, AlphaSigma]
  const m = update.models[update.models.length - 1]!
  const h = f32(lambdaOf(t) - lambdaOf(s))
  const c = sampleCoefficient(update.algorithm, t, s, h)
  switch (update.algorithm) {
    case "dpmsolver++":
      return combine([[c, update.sample], [-f32(t.alpha * f32(expF(-h) - 1)), m]])
    case "dpmsolver":
      return combine([[c, update.sample], [-f32(t.sigma * f32(expF(h) - 1)), m]])
    case "sde-dpmsolver++":
      return combine([
        [c, update.sample],
        [f32(t.alpha * f32(1 - expF(f32(-2 * h)))), m],
        ...noiseTerm(update, t, h),
      ])
    case "sde-dpmsolver":
      return combine([
        [c, update.sample],
        [-f32(2 * f32(t.sigma * f32(expF(h) - 1))), m],
        ...noiseTerm(update, t, h),
      ])
  }
}

/** `multistep_dpm_solver_second_order_update`. */
export function secondOrderUpdate(update: MultistepUpdate): Float32Array {
  const [t, s0, s1] = update.points as [AlphaSigma, AlphaSigma, AlphaSigma]
  const n = update.models.length
  const m0 = update.models[n - 1]!
  const m1 = update.models[n - 2]!
  const lambdaS0 = lambdaOf(s0)
  const h = f32(lambdaOf(t) - lambdaS0)
  const r0 = f32(f32(lambdaS0 - lambdaOf(s1)) / h)
  const d1 = combine([[f32(1 / r0), subtract(m0, m1)]])
  return secondOrderFrom(update, { t, base: s0, h, d0: m0, d1 })
}

/** The second-order step from `base` to `t` given `h` and the differences D0, D1 (multistep and singlestep). */
export interface SecondOrderTerms {
  readonly t: AlphaSigma
  readonly base: AlphaSigma
  readonly h: number
  readonly d0: Float32Array
  readonly d1: Float32Array
}

/** The shared body of the multistep and singlestep second-order updates. */
export function secondOrderFrom(update: MultistepUpdate, terms: SecondOrderTerms): Float32Array {
  const { t, base, h, d0, d1 } = terms
  const c = sampleCoefficient(update.algorithm, t, base, h)
  const midpoint = update.solverType === "midpoint"
  switch (update.algorithm) {
    case "dpmsolver++": {
      const k = f32(t.alpha * f32(expF(-h) - 1))
      const k1 = midpoint ? -f32(0.5 * k) : f32(t.alpha * f32(f32(f32(expF(-h) - 1) / h) + 1))
      return combine([[c, update.sample], [-k, d0], [k1, d1]])
    }
    case "dpmsolver": {
      const k = f32(t.sigma * f32(expF(h) - 1))
      const k1 = midpoint ? f32(0.5 * k) : f32(t.sigma * f32(f32(f32(expF(h) - 1) / h) - 1))
      return combine([[c, update.sample], [-k, d0], [-k1, d1]])
    }
    case "sde-dpmsolver++": {
      const e2 = expF(f32(-2 * h))
      const k = f32(t.alpha * f32(1 - e2))
      const k1 = midpoint ? f32(0.5 * k) : f32(t.alpha * f32(f32(f32(1 - e2) / f32(-2 * h)) + 1))
      return combine([[c, update.sample], [k, d0], [k1, d1], ...noiseTerm(update, t, h)])
    }
    case "sde-dpmsolver": {
      const k = f32(t.sigma * f32(expF(h) - 1))
      const k1 = midpoint ? k : f32(2 * f32(t.sigma * f32(f32(f32(expF(h) - 1) / h) - 1)))
      return combine([[c, update.sample], [-f32(2 * k), d0], [-k1, d1], ...noiseTerm(update, t, h)])
    }
  }
}

/** `multistep_dpm_solver_third_order_update` (dpmsolver++, dpmsolver, sde-dpmsolver++). */
export function thirdOrderUpdate(update: MultistepUpdate): Float32Array {
  const [t, s0, s1, s2] = update.points as [AlphaSigma, AlphaSigma, AlphaSigma, AlphaSigma]
  const n = update.models.length
  const [m0, m1, m2] = [update.models[n - 1]!, update.models[n - 2]!, update.models[n - 3]!]
  const [lt, l0, l1, l2] = [lambdaOf(t), lambdaOf(s0), lambdaOf(s1), lambdaOf(s2)]
  const h = f32(lt - l0)
  const r0 = f32(f32(l0 - l1) / h)
  const r1 = f32(f32(l1 - l2) / h)
  const d10 = combine([[f32(1 / r0), subtract(m0, m1)]])
  const d11 = combine([[f32(1 / r1), subtract(m1, m2)]])
  const diff = subtract(d10, d11)
  const d1 = combine([
    [1, d10],
    [f32(r0 / f32(r0 + r1)), diff],
  ])
  const d2 = combine([[f32(1 / f32(r0 + r1)), diff]])
  const c = sampleCoefficient(update.algorithm, t, s0, h)
  const hh = f32(h * h)
  switch (update.algorithm) {
    case "dpmsolver++": {
      const e = f32(expF(-h) - 1)
      return combine([
        [c, update.sample],
        [-f32(t.alpha * e), m0],
        [f32(t.alpha * f32(f32(e / h) + 1)), d1],
        [-f32(t.alpha * f32(f32(f32(e + h) / hh) - 0.5)), d2],
      ])
    }
    case "dpmsolver": {
      const e = f32(expF(h) - 1)
      return combine([
        [c, update.sample],
        [-f32(t.sigma * e), m0],
        [-f32(t.sigma * f32(f32(e / h) - 1)), d1],
        [-f32(t.sigma * f32(f32(f32(e - h) / hh) - 0.5)), d2],
      ])
    }
    case "sde-dpmsolver++": {
      const e = f32(1 - expF(f32(-2 * h)))
      const twoH = f32(2 * h)
      return combine([
        [c, update.sample],
        [f32(t.alpha * e), m0],
        [f32(t.alpha * f32(f32(e / f32(-2 * h)) + 1)), d1],
        [f32(t.alpha * f32(f32(f32(e - twoH) / f32(twoH * twoH)) - 0.5)), d2],
        ...noiseTerm(update, t, h),
      ])
    }
    case "sde-dpmsolver":
      throw new InvalidSchedulerConfigError(
        `algorithm_type "sde-dpmsolver" has no third-order update (diffusers fails here too). Use solver_order 2 or "sde-dpmsolver++".`,
      )
  }
}
