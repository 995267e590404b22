// Tables of KDPM2DiscreteScheduler and KDPM2AncestralDiscreteScheduler: σ, the log-midpoint σ_interpol and their
// interleaved timesteps. Ported from diffusers `scheduling_k_dpm_2_discrete.py` and
// `scheduling_k_dpm_2_ancestral_discrete.py` (`set_timesteps`), float32 like the torch tensors there.
import { karrasStyleTables } from "./karras-tables.js"
import { roundHalfEven, sigmaToTF32 } from "./sigmas.js"
import type { SigmaConversion } from "./sigmas.js"

const f32 = Math.fround

/** `a.lerp(b, 0.5)` in float32 (torch uses `end − (end − self)·(1 − w)` for w ≥ 0.5; NaN for −inf − −inf). */
function lerpHalf(a: number, b: number): number {
  return f32(b - f32(f32(b - a) * 0.5))
}

/** `cat([x[:1], x[1:].repeat_interleave(2), x[-1:]])`. */
export function interleaveAll(values: ArrayLike<number>): number[] {
  const out: number[] = [values[0]!]
  for (let i = 1; i < values.length; i++) out.push(values[i]!, values[i]!)
  out.push(values[values.length - 1]!)
  return out
}

/** Python-style indexing (negative counts from the end), as diffusers' `self.sigmas_down[self.step_index - 1]`. */
export function pyAt(values: readonly number[], index: number): number {
  return values[index < 0 ? values.length + index : index]!
}

/** Interleaved KDPM2 tables. */
export interface Kdpm2Tables {
  readonly sigmas: number[]
  readonly sigmasInterpol: number[]
  readonly sigmasUp: number[]
  readonly sigmasDown: number[]
  readonly timesteps: number[]
}

/** Builds the KDPM2 tables; `ancestral` selects the KDPM2-ancestral variant (midpoints towards σ_down). */
export function kdpm2Tables(options: {
  readonly alphasCumprod: Float32Array
  readonly numInferenceSteps: number
  readonly spaced: Float32Array
  readonly conversion: SigmaConversion
  readonly ancestral: boolean
}): Kdpm2Tables {
  const tables = karrasStyleTables({
    alphasCumprod: options.alphasCumprod,
    numInferenceSteps: options.numInferenceSteps,
    timesteps: options.spaced,
    conversion: options.conversion,
  })
  // timesteps stay float32 unless a conversion made them float64 (Karras ones are rounded first)
  const timesteps: number[] =
    options.conversion === undefined
      ? Array.from(Float32Array.from(tables.timesteps))
      : options.conversion === "karras"
        ? Array.from(tables.timesteps, roundHalfEven)
        : Array.from(tables.timesteps)
  const castT = (t: number): number => (options.conversion === undefined ? f32(t) : t)
  const sigmas = Array.from(Float32Array.from([...tables.sigmas, 0]))
  const n = sigmas.length
  const logS = sigmas.map((s) => f32(Math.log(s)))
  let interpol: number[]
  const up: number[] = new Array<number>(n).fill(0)
  const down: number[] = new Array<number>(n).fill(0)
  if (options.ancestral) {
    for (let k = 0; k < n; k++) {
      const s = sigmas[k]!
      const next = k + 1 < n ? sigmas[k + 1]! : 0
      const nextSq = f32(next * next)
      const sSq = f32(s * s)
      up[k] = f32(Math.sqrt(f32(f32(nextSq * f32(sSq - nextSq)) / sSq)))
      down[k] = k === n - 1 ? 0 : f32(Math.sqrt(f32(nextSq - f32(up[k]! * up[k]!))))
    }
    interpol = sigmas.map((_, k) => (k >= n - 2 ? 0 : f32(Math.exp(lerpHalf(logS[k]!, f32(Math.log(down[k]!)))))))
  } else {
    interpol = sigmas.map((_, k) => f32(Math.exp(lerpHalf(logS[k]!, logS[(k - 1 + n) % n]!))))
  }
  const timestepsInterpol = interpol.map((s) => castT(sigmaToTF32(s, tables.logSigmas)))
  const interleaved: number[] = [timesteps[0]!]
  const offset = options.ancestral ? 0 : 1
  for (let k = 1; k < timesteps.length; k++) interleaved.push(timestepsInterpol[k - 1 + offset]!, timesteps[k]!)
  return {
    sigmas: interleaveAll(sigmas),
    sigmasInterpol: interleaveAll(interpol),
    sigmasUp: interleaveAll(up),
    sigmasDown: interleaveAll(down),
    timesteps: interleaved,
  }
}
