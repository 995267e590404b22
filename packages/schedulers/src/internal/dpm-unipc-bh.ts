// UniPC's B(h) predictor (UniP) and corrector (UniC) in float32. Ported from diffusers
// `UniPCMultistepScheduler.multistep_uni_p_bh_update` and `multistep_uni_c_bh_update`.
import { expm1F, f32, lambdaOf } from "./dpm-math.js"
import type { AlphaSigma } from "./dpm-math.js"

/** Inputs shared by the predictor and the corrector. */
export interface UniBhInputs {
  readonly solverType: "bh1" | "bh2"
  readonly predictX0: boolean
  /** The target point t and the base point s0. */
  readonly t: AlphaSigma
  readonly s0: AlphaSigma
  /** Earlier points s1, s2, … (as many as order − 1). */
  readonly previous: readonly AlphaSigma[]
  /** m0 (at s0) and the earlier outputs m1, m2, … matching `previous`. */
  readonly m0: Float32Array
  readonly earlierOutputs: readonly Float32Array[]
  /** The sample at s0 (`x`). */
  readonly sample: Float32Array
  readonly order: number
}

/** Solves `a·x = b` (small, dense) by Gaussian elimination with partial pivoting; results rounded to float32. */
export function solveLinear(a: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = b.length
  const m = a.map((row, i) => [...row.slice(0, n), b[i]!])
  for (let col = 0; col < n; col++) {
    let pivot = col
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r
    ;[m[col], m[pivot]] = [m[pivot]!, m[col]!]
    for (let r = col + 1; r < n; r++) {
      const factor = m[r]![col]! / m[col]![col]!
      for (let c = col; c <= n; c++) m[r]![c]! -= factor * m[col]![c]!
    }
  }
  const x = new Array<number>(n).fill(0)
  for (let r = n - 1; r >= 0; r--) {
    let acc = m[r]![n]!
    for (let c = r + 1; c < n; c++) acc -= m[r]![c]! * x[c]!
    x[r] = acc / m[r]![r]!
  }
  return x.map(f32)
}

interface BhTerms {
  readonly hPhi1: number
  readonly bH: number
  /** `rks` (last one is 1) and `D1s = (m_k - m0) / r_k`. */
  readonly rks: number[]
  readonly d1s: Float32Array[]
  /** `R` rows `rks^(i-1)` and `b`. */
  readonly rMatrix: number[][]
  readonly bVector: number[]
}

function bhTerms(inputs: UniBhInputs): BhTerms {
  const lambdaS0 = lambdaOf(inputs.s0)
  const h = f32(lambdaOf(inputs.t) - lambdaS0)
  const rks: number[] = []
  const d1s: Float32Array[] = []
  for (let k = 1; k < inputs.order; k++) {
    const rk = f32(f32(lambdaOf(inputs.previous[k - 1]!) - lambdaS0) / h)
    const mk = inputs.earlierOutputs[k - 1]!
    const d = new Float32Array(mk.length)
    for (let i = 0; i < d.length; i++) d[i] = f32(mk[i]! - inputs.m0[i]!) / rk
    rks.push(rk)
    d1s.push(d)
  }
  rks.push(1)
  const hh = inputs.predictX0 ? -h : h
  const hPhi1 = expm1F(hh)
  let hPhiK = f32(f32(hPhi1 / hh) - 1)
  let factorial = 1
  const bH = inputs.solverType === "bh1" ? hh : expm1F(hh)
  const rMatrix: number[][] = []
  const bVector: number[] = []
  for (let i = 1; i <= inputs.order; i++) {
    rMatrix.push(rks.map((r) => f32(r ** (i - 1))))
    bVector.push(f32(f32(hPhiK * factorial) / bH))
    factorial *= i + 1
    hPhiK = f32(f32(hPhiK / hh) - f32(1 / factorial))
  }
  return { hPhi1, bH, rks, d1s, rMatrix, bVector }
}

/** `x_t_ = (sigma_t/sigma_s0)·x - (alpha_t·h_phi_1)·m0` (x0 form) or `(alpha_t/alpha_s0)·x - (sigma_t·h_phi_1)·m0`. */
function baseStep(inputs: UniBhInputs, hPhi1: number): { readonly values: Float32Array; readonly scaleBh: number } {
  const { t, s0 } = inputs
  const c = inputs.predictX0 ? f32(t.sigma / s0.sigma) : f32(t.alpha / s0.alpha)
  const k = inputs.predictX0 ? f32(t.alpha * hPhi1) : f32(t.sigma * hPhi1)
  const values = new Float32Array(inputs.sample.length)
  for (let i = 0; i < values.length; i++) values[i] = f32(c * inputs.sample[i]!) - f32(k * inputs.m0[i]!)
  return { values, scaleBh: inputs.predictX0 ? t.alpha : t.sigma }
}

/** `sum_k rhos[k]·D1s[k]` (the einsum), float32. */
function weightedSum(rhos: readonly number[], d1s: readonly Float32Array[], length: number): Float32Array {
  const out = new Float32Array(length)
  d1s.forEach((d, k) => {
    for (let i = 0; i < length; i++) out[i] = out[i]! + f32(rhos[k]! * d[i]!)
  })
  return out
}

/** UniP-p: the predictor step from s0 to t. */
export function uniPredictor(inputs: UniBhInputs): Float32Array {
  const terms = bhTerms(inputs)
  const { values, scaleBh } = baseStep(inputs, terms.hPhi1)
  const k = f32(scaleBh * terms.bH)
  if (terms.d1s.length === 0) {
    // diffusers subtracts `alpha_t·B_h·0`: NaN when B_h is infinite (bh1 into a zero final sigma), as there.
    const zeroTerm = f32(k * 0)
    for (let i = 0; i < values.length; i++) values[i] = values[i]! - zeroTerm
    return values
  }
  const size = inputs.order - 1
  const rhos =
    inputs.order === 2
      ? [0.5]
      : solveLinear(
          terms.rMatrix.slice(0, size).map((row) => row.slice(0, size)),
          terms.bVector.slice(0, size),
        )
  const predRes = weightedSum(rhos, terms.d1s, values.length)
  for (let i = 0; i < values.length; i++) values[i] = values[i]! - f32(k * predRes[i]!)
  return values
}

/** UniC-p: corrects the sample at t (`thisSample`, unused by the formula) with the model output there. */
export function uniCorrector(inputs: UniBhInputs, thisModelOutput: Float32Array): Float32Array {
  const terms = bhTerms(inputs)
  const { values, scaleBh } = baseStep(inputs, terms.hPhi1)
  const rhos = inputs.order === 1 ? [0.5] : solveLinear(terms.rMatrix, terms.bVector)
  const corrRes = weightedSum(rhos.slice(0, -1), terms.d1s, values.length)
  const rhoLast = rhos[rhos.length - 1]!
  const k = f32(scaleBh * terms.bH)
  for (let i = 0; i < values.length; i++) {
    const d1t = f32(thisModelOutput[i]! - inputs.m0[i]!)
    const correction = terms.d1s.length > 0 ? f32(corrRes[i]! + f32(rhoLast * d1t)) : f32(rhoLast * d1t)
    values[i] = values[i]! - f32(k * correction)
  }
  return values
}
