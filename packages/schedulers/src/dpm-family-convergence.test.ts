// Order-of-accuracy checks for the branches the shared oracles do not cover (heun, order 3, noise prediction,
// singlestep, UniPC bh1/bh2, DEIS, SA-Solver with tau 0, EDM): on Gaussian data N(0, 0.5²) the probability-flow
// ODE is solved exactly by x / sqrt(alpha²·S² + sigma_t²) = const, so each solver's error must shrink at its order.
import { describe, expect, it } from "vitest"
import { Tensor } from "@pagkit/tensor"
import type { TorchGenerator } from "@pagkit/tensor"
import { DEISMultistepScheduler } from "./deis-multistep.js"
import { DPMSolverMultistepScheduler } from "./dpm-solver-multistep.js"
import { DPMSolverSinglestepScheduler } from "./dpm-solver-singlestep.js"
import { EDMDPMSolverMultistepScheduler } from "./edm-dpm-solver-multistep.js"
import { SASolverScheduler } from "./sa-solver.js"
import type { Scheduler } from "./scheduler.js"
import { UniPCMultistepScheduler } from "./unipc-multistep.js"

const S = 0.5
const vp = {
  beta_schedule: "scaled_linear",
  beta_start: 0.00085,
  beta_end: 0.012,
  final_sigmas_type: "sigma_min",
  use_karras_sigmas: true,
}
const zeros = { randn: (shape: readonly number[]) => Tensor.zeros(shape) } as unknown as TorchGenerator

/** Max error after step `check` against the exact ODE solution (EDM: preconditioned VE form). */
function solveError(scheduler: Scheduler, n: number, check: number, edm = false): number {
  scheduler.setTimesteps(n)
  const start = [1.5, -2, 0.3, 2.5].map((v) => (edm ? v * 80 : v))
  const sigmas = scheduler.sigmas ?? []
  const scale = (k: number): number => {
    const s = sigmas[k]!
    return edm ? Math.sqrt(S * S + s * s) : Math.sqrt(S * S + s * s) / Math.sqrt(s * s + 1)
  }
  let x = Tensor.fromArray(start, [1, 1, 2, 2])
  let error = NaN
  scheduler.timesteps.forEach((t, k) => {
    const sigma = sigmas[k]!
    let output: number[]
    if (edm) {
      // model output whose preconditioned denoised value is the exact posterior mean S²x / (S² + sigma²)
      const cSkip = 0.25 / (sigma * sigma + 0.25)
      const cOut = (sigma * 0.5) / Math.sqrt(sigma * sigma + 0.25)
      output = Array.from(x.data, (v) => ((S * S * v) / (S * S + sigma * sigma) - cSkip * v) / cOut)
      scheduler.scaleModelInput(x, t)
    } else {
      const alpha = 1 / Math.sqrt(sigma * sigma + 1)
      const sigmaT = sigma * alpha
      output = Array.from(x.data, (v) => (v - (alpha * alpha * S * S * v) / (alpha * alpha * S * S + sigmaT * sigmaT)) / sigmaT)
    }
    x = scheduler.step(Tensor.fromArray(output, x.shape), t, x, { generator: zeros }).prevSample
    if (k === check) {
      error = Math.max(...Array.from(x.data, (v, i) => Math.abs(v - (start[i]! * scale(k + 1)) / scale(0))))
    }
  })
  return error
}

type Make = (order: number) => Scheduler

/** Errors at 24 and 48 steps for orders 1–3 (`single`: check at the end of a full order group). */
function errors(make: Make, single = false, edm = false): { e24: number[]; e48: number[] } {
  const at = (n: number): number[] => [1, 2, 3].map((o) => solveError(make(o), n, single ? n - 1 - o : n - 2, edm))
  return { e24: at(24), e48: at(48) }
}

describe("DPM family convergence on Gaussian data", () => {
  for (const algorithm_type of ["dpmsolver++", "dpmsolver"]) {
    for (const solver_type of ["midpoint", "heun"]) {
      it(`multistep ${algorithm_type} ${solver_type}: second order, third order better`, () => {
        const { e24, e48 } = errors((o) => new DPMSolverMultistepScheduler({ ...vp, algorithm_type, solver_type, solver_order: o }))
        expect(e24[0]! / e48[0]!).toBeGreaterThan(1.8)
        expect(e24[1]! / e48[1]!).toBeGreaterThan(3.5)
        expect(e48[2]!).toBeLessThan(0.5 * e48[1]!)
      })
      it(`singlestep ${algorithm_type} ${solver_type}: second and third order`, () => {
        const { e24, e48 } = errors((o) => new DPMSolverSinglestepScheduler({ ...vp, algorithm_type, solver_type, solver_order: o }), true)
        expect(e24[1]! / e48[1]!).toBeGreaterThan(3.5)
        expect(e24[2]! / e48[2]!).toBeGreaterThan(6)
      })
    }
  }

  for (const solver_type of ["bh1", "bh2"]) {
    for (const predict_x0 of [true, false]) {
      it(`UniPC ${solver_type} predict_x0=${predict_x0}: predictor-corrector gains an order`, () => {
        const { e24, e48 } = errors((o) => new UniPCMultistepScheduler({ ...vp, solver_type, predict_x0, solver_order: o }))
        expect(e24[1]! / e48[1]!).toBeGreaterThan(6)
        expect(e24[2]! / e48[2]!).toBeGreaterThan(10)
      })
    }
  }

  it("DEIS: second order, third order better", () => {
    const { e24, e48 } = errors((o) => new DEISMultistepScheduler({ ...vp, solver_order: o }))
    expect(e24[1]! / e48[1]!).toBeGreaterThan(3.5)
    expect(e48[2]!).toBeLessThan(0.1 * e48[1]!)
  })

  for (const algorithm_type of ["data_prediction", "noise_prediction"]) {
    it(`SA-Solver ${algorithm_type} with tau 0 (ODE): higher orders converge faster`, () => {
      const make: Make = (o) =>
        new SASolverScheduler({ ...vp, algorithm_type, tau_func: () => 0, predictor_order: o, corrector_order: o })
      const { e24, e48 } = errors(make)
      expect(e24[1]! / e48[1]!).toBeGreaterThan(5)
      expect(e48[2]!).toBeLessThan(0.1 * e48[1]!)
    })
  }

  for (const solver_type of ["midpoint", "heun"]) {
    it(`EDM DPM-Solver++ ${solver_type}: second order`, () => {
      const { e24, e48 } = errors((o) => new EDMDPMSolverMultistepScheduler({ solver_order: o, solver_type }), false, true)
      expect(e24[1]! / e48[1]!).toBeGreaterThan(3.5)
      expect(e48[1]!).toBeLessThan(0.2 * e48[0]!)
    })
  }
})
