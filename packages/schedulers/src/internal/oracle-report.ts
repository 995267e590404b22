// Test support (not exported): loads scheduler oracle cases from disk and summarises a run of
// `runSchedulerOracle` (../testing.ts) the way the per-class tests assert it.
import { readFile } from "node:fs/promises"
import path from "node:path"
import { readSafetensors } from "@pagkit/tensor"
import type { Tensor } from "@pagkit/tensor"
import type { Scheduler, SchedulerConfig } from "../scheduler.js"
import { runSchedulerOracle } from "../testing.js"
import type { OracleCheck, OracleNoise } from "../testing.js"

/** The folder of the shared scheduler oracles. */
export const SCHEDULER_ORACLES = new URL("../../../tiny-models/oracles/schedulers/", import.meta.url)
/** This package's extra diffusers runs (test-data/README.md). */
export const SCHEDULER_TEST_DATA = new URL("../../test-data/schedulers/", import.meta.url)

/** The json half of an oracle case. */
export interface OracleMeta {
  readonly class: string
  readonly config: SchedulerConfig
  readonly steps: number
  readonly timesteps: readonly number[]
  readonly sigmas?: readonly number[]
  readonly init_noise_sigma: number
  readonly order: number
  readonly add_noise_timestep: number
}

/** A loaded case: metadata and tensors by name. */
export interface OracleCase {
  readonly meta: OracleMeta
  readonly tensors: ReadonlyMap<string, Tensor>
}

/**
 * Reads the case json, reviving Python's bare `-Infinity` / `Infinity` / `NaN` values (`lambda_min_clipped`).
 * Test-only and value-position only: the general parser is @pagkit/models-core's `parsePythonJson`, which this
 * package cannot import (models-core depends on it).
 */
function parseOracleJson(text: string): OracleMeta {
  const marked = text.replace(/(?<=[:,[\s])(-?)(Infinity|NaN)(?=[\s,\]}])/g, '"__py_$1$2"')
  return JSON.parse(marked, (_key, value: unknown) =>
    typeof value === "string" && value.startsWith("__py_") ? Number(value.slice("__py_".length)) : value,
  ) as OracleMeta
}

/** Loads `dir/name.json` + `dir/name.safetensors`. */
export async function loadOracleCase(dir: string, name: string): Promise<OracleCase> {
  const meta = parseOracleJson(await readFile(path.join(dir, `${name}.json`), "utf8"))
  return { meta, tensors: await readSafetensors(path.join(dir, `${name}.safetensors`)) }
}

/** Everything a per-class test checks for one case. */
export interface OracleReport {
  readonly meta: OracleMeta
  readonly timesteps: readonly number[]
  /** Largest relative difference of the sigma table. */
  readonly sigmaError: number
  readonly initNoiseSigma: number
  readonly order: number
  /** Largest `|x - ref| / max(1, |ref|)` over every step (Infinity when a step's reference is missing). */
  readonly maxStepError: number
  /** The same for `add_noise.out` (Infinity when the case has none). */
  readonly addNoiseError: number
  readonly steps: number
  readonly checks: readonly OracleCheck[]
}

const worst = (checks: readonly OracleCheck[]): number => Math.max(0, ...checks.map((c) => c.error))

/** Loads a case, builds its scheduler with `factory(meta.config)`, and runs it (noise recorded by default). */
export async function oracleReport(
  dir: string,
  name: string,
  factory: (config: SchedulerConfig) => Scheduler,
  noise: OracleNoise = "recorded",
): Promise<OracleReport> {
  const oracle = await loadOracleCase(dir, name)
  const { checks, scheduler } = runSchedulerOracle({ ...oracle, build: () => factory(oracle.meta.config), noise })
  const stepChecks = checks.filter((c) => c.what.startsWith("x.step"))
  const sigmas = checks.filter((c) => c.what === "sigmas")
  const addNoise = checks.filter((c) => c.what === "add_noise")
  const steps = scheduler.timesteps.length
  return {
    meta: oracle.meta,
    timesteps: [...scheduler.timesteps],
    // no reference sigmas is a mismatch unless the scheduler has none either
    sigmaError: sigmas.length > 0 ? worst(sigmas) : (scheduler.sigmas ?? []).length === 0 ? 0 : Infinity,
    initNoiseSigma: scheduler.initNoiseSigma,
    order: scheduler.order,
    maxStepError: stepChecks.length === steps ? worst(stepChecks) : Infinity,
    addNoiseError: addNoise.length === 1 ? worst(addNoise) : Infinity,
    steps,
    checks,
  }
}
