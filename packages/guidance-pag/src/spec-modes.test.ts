// Property tests: every mode of SPEC §1 (CFG + PAG, PAG only, CFG only, none; adaptive scale,
// rescale, windows) against an independent transcription of diffusers' PAG pipeline step
// (`pipelines/pag/pag_utils.py`, `pipeline_pag_sd_xl.py`), over many random settings.
import { describe, expect, it } from "vitest"
import { guidance } from "@pagkit/guidance"
import type { StepContext } from "@pagkit/guidance"
import { createFakeDenoiser } from "@pagkit/guidance/testing"
import { cfg } from "@pagkit/guidance-cfg"
import { IDENTITY_ATTENTION, pag } from "./pag.js"

const f = Math.fround

/** Seeded uniform PRNG so a failing trial can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state / 4294967296
  }
}

interface Trial {
  g: number
  s: number
  a: number
  r: number
  t: number
  layers: string[]
  batchSize: number
  rowShape: number[]
  window: [number, number]
  stepIndex: number
  numSteps: number
}

function randomTrial(rand: () => number): Trial {
  const pick = <T>(options: T[]): T => options[Math.floor(rand() * options.length)]!
  const layers = pick([[], ["mid"], ["mid", "down_blocks.2"], ["blocks.1"]])
  const numSteps = 1 + Math.floor(rand() * 30)
  return {
    g: pick([0, 0.5, 1, 1 + rand() * 11, 5]),
    s: pick([0, rand() * 6, 3]),
    a: layers.length === 0 ? 0 : pick([0, 0, rand() * 0.01]),
    r: pick([0, rand(), 0.7]),
    t: pick([Math.floor(rand() * 1000), 999, 1, Math.floor(rand() * 1000) + 0.5]),
    layers,
    batchSize: 1 + Math.floor(rand() * 4),
    rowShape: pick([[4, 2, 2], [8, 2, 3], [3]]),
    window: pick<[number, number]>([[0, 1], [0, 1], [0.2, 0.7], [0.5, 1]]),
    stepIndex: Math.floor(rand() * numSteps),
    numSteps,
  }
}

/** What diffusers computes, written out element by element in float32, plus the rows it needs. */
function reference(trial: Trial, u: Float32Array, c: Float32Array, p: Float32Array) {
  const inWindow = (() => {
    const [start, end] = trial.window
    return Math.trunc(start * trial.numSteps) <= trial.stepIndex && trial.stepIndex < Math.trunc(end * trial.numSteps)
  })()
  let pagScale = trial.s
  if (trial.a > 0) pagScale = Math.max(0, f(f(trial.s) - f(f(trial.a) * f(1000 - trial.t))))
  const doCfg = trial.g > 1 && inWindow
  const doPag = trial.s > 0 && trial.layers.length > 0 && pagScale > 0 && inWindow
  const out = new Float32Array(c.length)
  for (let i = 0; i < c.length; i++) {
    if (doCfg && doPag) out[i] = f(u[i]! + f(f(trial.g) * f(c[i]! - u[i]!))) + f(f(pagScale) * f(c[i]! - p[i]!))
    else if (doPag) out[i] = c[i]! + f(f(pagScale) * f(c[i]! - p[i]!))
    else if (doCfg) out[i] = u[i]! + f(f(trial.g) * f(c[i]! - u[i]!))
    else out[i] = c[i]!
  }
  if (doCfg && trial.r > 0) {
    const per = c.length / trial.batchSize
    const std = (x: Float32Array, b: number): number => {
      const xs = Array.from(x.subarray(b * per, (b + 1) * per))
      const mean = xs.reduce((acc, v) => acc + v, 0) / per
      return Math.sqrt(xs.reduce((acc, v) => acc + (v - mean) ** 2, 0) / (per - 1))
    }
    for (let b = 0; b < trial.batchSize; b++) {
      const ratio = f(f(std(c, b)) / f(std(out, b)))
      for (let i = b * per; i < (b + 1) * per; i++) out[i] = f(f(trial.r) * f(out[i]! * ratio)) + f(f(1 - trial.r) * out[i]!)
    }
  }
  const branches = [...(doCfg ? ["uncond"] : []), "cond", ...(doPag ? ["pag"] : [])]
  return { out, branches, pagScale, doCfg, doPag }
}

describe("SPEC §1 guidance modes (property test)", () => {
  it("matches diffusers' formulas exactly, with the minimal rows, batched or separate", async () => {
    const rand = prng(20240611)
    const modes = new Set<string>()
    for (let trialIndex = 0; trialIndex < 300; trialIndex++) {
      const trial = randomTrial(rand)
      const chain = guidance(
        cfg({ scale: trial.g, rescale: trial.r, window: trial.window }),
        pag({ scale: trial.s, layers: trial.layers, adaptiveScale: trial.a, window: trial.window }),
      )
      const ctx: StepContext = { stepIndex: trial.stepIndex, numSteps: trial.numSteps, timestep: trial.t }
      const batched = createFakeDenoiser({ rowShape: trial.rowShape, seed: trialIndex })
      const separate = createFakeDenoiser({ rowShape: trial.rowShape, seed: trialIndex })
      const outBatched = (await chain.step(ctx, { batchSize: trial.batchSize, denoise: batched.denoise })).data as Float32Array
      const outSeparate = await chain.step(ctx, { batchSize: trial.batchSize, passes: "separate", denoise: separate.denoise })

      const u = batched.branchOutput("uncond", undefined, trial.batchSize).data
      const c = batched.branchOutput("cond", undefined, trial.batchSize).data
      const p = batched.branchOutput("cond", { [IDENTITY_ATTENTION]: trial.layers }, trial.batchSize).data
      const expected = reference(trial, u, c, p)
      modes.add(`${expected.doCfg ? "cfg" : ""}+${expected.doPag ? "pag" : ""}+${expected.doCfg && trial.r > 0 ? "rescale" : ""}`)

      const context = JSON.stringify(trial)
      expect([...outBatched], context).toEqual([...expected.out])
      expect([...outSeparate.data], context).toEqual([...outBatched])
      expect(outSeparate.shape, context).toEqual([trial.batchSize, ...trial.rowShape])
      // Minimal rows, chunk-major: each needed branch once per image, nothing else.
      const expectedRows = expected.branches.flatMap((b) => Array.from({ length: trial.batchSize }, (_, i) => `${b}/${i}`))
      expect(batched.rows.map((row) => `${row.branch}/${row.sample}`), context).toEqual(expectedRows)
      expect(separate.passes.length, context).toBe(expected.branches.length)

      // Sanity against the textbook formula in double (guards the float32 transcription itself).
      if (trial.r === 0 || !expected.doCfg) {
        const g = expected.doCfg ? trial.g : 1
        const sT = expected.doPag ? expected.pagScale : 0
        for (let i = 0; i < c.length; i += 7) {
          const textbook = (expected.doCfg ? u[i]! + g * (c[i]! - u[i]!) : c[i]!) + sT * (c[i]! - p[i]!)
          expect(Math.abs(outBatched[i]! - textbook), context).toBeLessThan(1e-5 * (1 + Math.abs(textbook)) * (1 + g + sT))
        }
      }
    }
    // The random trials covered every mode of the table, with and without rescale.
    expect([...modes].sort()).toEqual(["++", "+pag+", "cfg++", "cfg++rescale", "cfg+pag+", "cfg+pag+rescale"])
  })

  it("puts a chain's terms together the same in either order, up to float rounding", async () => {
    const fake = createFakeDenoiser({ rowShape: [4, 3] })
    const ctx: StepContext = { stepIndex: 0, numSteps: 4, timestep: 999 }
    const a = await guidance(cfg({ scale: 5 }), pag({ scale: 3, layers: ["mid"] })).step(ctx, { batchSize: 2, denoise: fake.denoise })
    const b = await guidance(pag({ scale: 3, layers: ["mid"] }), cfg({ scale: 5 })).step(ctx, { batchSize: 2, denoise: fake.denoise })
    const av = a.data as Float32Array
    const bv = b.data as Float32Array
    for (let i = 0; i < av.length; i++) expect(bv[i]!).toBeCloseTo(av[i]!, 4)
    expect(fake.passes[0]!.rows.map((r) => r.branch)).toEqual(fake.passes[1]!.rows.map((r) => r.branch))
  })
})
