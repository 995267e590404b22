/**
 * @pagkit/guidance/testing: a fake denoiser for testing middlewares and pipelines without a model.
 * @module
 */
import { Tensor } from "@pagkit/tensor"
import type { Shape } from "@pagkit/tensor"
import { activationLayers, activationValue, normalizeHooks } from "./internal/branch-key.js"
import type { PlanRow, PlannedPass } from "./planner.js"
import type { Conditioning, HookActivations } from "./types.js"

/** Options of {@link createFakeDenoiser}. */
export interface FakeDenoiserOptions {
  /** Per-row output shape, e.g. `[4, 8, 8]` (channels, height, width). */
  readonly rowShape: Shape
  /** Mixed into every value so different seeds give different outputs (default 0). */
  readonly seed?: number
}

/** A deterministic stand-in for a denoiser; it records every pass it ran. */
export interface FakeDenoiser {
  /** Runs a pass: `[pass.rows.length, …rowShape]`, each row a function of its conditioning, sample and hooks only. */
  denoise(pass: PlannedPass): Tensor<"float32">
  /** What a row with these inputs yields, `[batchSize, …rowShape]` for samples 0 … batchSize − 1. */
  branchOutput(conditioning: Conditioning, hooks: HookActivations | undefined, batchSize: number): Tensor<"float32">
  /** Every pass run so far, in order. */
  readonly passes: PlannedPass[]
  /** Every row computed so far, in order. */
  readonly rows: PlanRow[]
}

function hashString(text: string): number {
  let h = 2166136261
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619)
  return h >>> 0
}

/** mulberry32: small deterministic PRNG, values in [-2, 2). */
function fillNoise(target: Float32Array, offset: number, count: number, seed: number): void {
  let state = seed >>> 0
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0
    let z = state
    z = Math.imul(z ^ (z >>> 15), z | 1)
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61)
    target[offset + i] = (((z ^ (z >>> 14)) >>> 0) / 4294967296) * 4 - 2
  }
}

/**
 * Creates a fake denoiser whose output rows depend only on (conditioning, sample index, hooks):
 * equal rows in different layouts give bit-identical values, different rows differ.
 *
 * @example
 * const fake = createFakeDenoiser({ rowShape: [4, 2, 2] })
 * const eps = await chain.step(ctx, { batchSize: 2, denoise: fake.denoise })
 */
export function createFakeDenoiser(options: FakeDenoiserOptions): FakeDenoiser {
  const rowSize = options.rowShape.reduce((n, d) => n * d, 1)
  const seed = options.seed ?? 0
  const passes: PlannedPass[] = []
  const rows: PlanRow[] = []
  const fillRow = (target: Float32Array, row: number, conditioning: Conditioning, sample: number, hooks: HookActivations | undefined): void => {
    const normalized = normalizeHooks(hooks)
    const key = `${seed}|${conditioning}|${sample}|${JSON.stringify(Object.entries(normalized).map(([k, v]) => [k, [...activationLayers(v)].sort(), activationValue(v)]))}`
    fillNoise(target, row * rowSize, rowSize, hashString(key))
  }
  const denoise = (pass: PlannedPass): Tensor<"float32"> => {
    passes.push(pass)
    const data = new Float32Array(pass.rows.length * rowSize)
    pass.rows.forEach((row, i) => {
      rows.push(row)
      fillRow(data, i, row.conditioning, row.sample, row.hooks)
    })
    return new Tensor("float32", data, [pass.rows.length, ...options.rowShape])
  }
  const branchOutput = (conditioning: Conditioning, hooks: HookActivations | undefined, batchSize: number): Tensor<"float32"> => {
    const data = new Float32Array(batchSize * rowSize)
    for (let sample = 0; sample < batchSize; sample++) fillRow(data, sample, conditioning, sample, hooks)
    return new Tensor("float32", data, [batchSize, ...options.rowShape])
  }
  return { denoise, branchOutput, passes, rows }
}
