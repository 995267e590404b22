// The singlestep DPM-Solver updates of order 2 and 3 (all from the sample saved at the last order-1 step), in
// float32. Ported from diffusers `DPMSolverSinglestepScheduler.singlestep_dpm_solver_second_order_update` and
// `singlestep_dpm_solver_third_order_update`.
import { combine, expF, f32, lambdaOf, subtract } from "./dpm-math.js"
import type { AlphaSigma } from "./dpm-math.js"
import { noiseTerm, sampleCoefficient, secondOrderFrom } from "./dpm-updates.js"
import type { MultistepUpdate } from "./dpm-updates.js"

/** Singlestep second order: from s1 to t with m1 (at s1) and m0 (at s0). `points` is `[t, s0, s1]`. */
export function singlestepSecondOrder(update: MultistepUpdate): Float32Array {
  const [t, s0, s1] = update.points as [AlphaSigma, AlphaSigma, AlphaSigma]
  const n = update.models.length
  const m0 = update.models[n - 1]!
  const m1 = update.models[n - 2]!
  const lambdaS1 = lambdaOf(s1)
  const h = f32(lambdaOf(t) - lambdaS1)
  const r0 = f32(f32(lambdaOf(s0) - lambdaS1) / h)
  const d1 = combine([[f32(1 / r0), subtract(m0, m1)]])
  return secondOrderFrom(update, { t, base: s1, h, d0: m1, d1 })
}

/** Singlestep third order: from s2 to t with m2, m1, m0. `points` is `[t, s0, s1, s2]`. */
export function singlestepThirdOrder(update: MultistepUpdate): Float32Array {
  const [t, s0, s1, s2] = update.points as [AlphaSigma, AlphaSigma, AlphaSigma, AlphaSigma]
  const n = update.models.length
  const [m0, m1, m2] = [update.models[n - 1]!, update.models[n - 2]!, update.models[n - 3]!]
  const lambdaS2 = lambdaOf(s2)
  const h = f32(lambdaOf(t) - lambdaS2)
  const r0 = f32(f32(lambdaOf(s0) - lambdaS2) / h)
  const r1 = f32(f32(lambdaOf(s1) - lambdaS2) / h)
  const d10 = combine([[f32(1 / r1), subtract(m1, m2)]])
  const d11 = combine([[f32(1 / r0), subtract(m0, m2)]])
  const rDiff = f32(r0 - r1)
  // D1 = (r0·D1_0 - r1·D1_1) / (r0 - r1); D2 = 2·(D1_1 - D1_0) / (r0 - r1)
  const d1 = new Float32Array(d10.length)
  const d2 = new Float32Array(d10.length)
  for (let i = 0; i < d1.length; i++) {
    d1[i] = f32(f32(r0 * d10[i]!) - f32(r1 * d11[i]!)) / rDiff
    d2[i] = f32(2 * f32(d11[i]! - d10[i]!)) / rDiff
  }
  const c = sampleCoefficient(update.algorithm, t, s2, h)
  const heun = update.solverType === "heun"
  const hh = f32(h * h)
  switch (update.algorithm) {
    case "dpmsolver++": {
      const e = f32(expF(-h) - 1)
      const k1 = f32(t.alpha * f32(f32(e / h) + 1))
      const k2 = -f32(t.alpha * f32(f32(f32(e + h) / hh) - 0.5))
      return combine([
        [c, update.sample],
        [-f32(t.alpha * e), m2],
        ...(heun ? ([[k1, d1], [k2, d2]] as const) : ([[k1, d11]] as const)),
      ])
    }
    case "dpmsolver": {
      const e = f32(expF(h) - 1)
      const k1 = -f32(t.sigma * f32(f32(e / h) - 1))
      const k2 = -f32(t.sigma * f32(f32(f32(e - h) / hh) - 0.5))
      return combine([
        [c, update.sample],
        [-f32(t.sigma * e), m2],
        ...(heun ? ([[k1, d1], [k2, d2]] as const) : ([[k1, d11]] as const)),
      ])
    }
    default: {
      // sde-dpmsolver++
      const minus2h = f32(-2 * h)
      const e = f32(1 - expF(minus2h))
      const k1 = f32(t.alpha * f32(f32(e / minus2h) + 1))
      const k2 = f32(t.alpha * f32(f32(f32(e + minus2h) / f32(minus2h * minus2h)) - 0.5))
      return combine([
        [c, update.sample],
        [f32(t.alpha * e), m2],
        ...(heun ? ([[k1, d1], [k2, d2]] as const) : ([[k1, d11]] as const)),
        ...noiseTerm(update, t, h),
      ])
    }
  }
}
