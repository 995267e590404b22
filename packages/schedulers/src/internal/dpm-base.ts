// What every DPM-family scheduler shares: step/begin index bookkeeping, timestep lookup and the VP `add_noise`.
// Ported from diffusers `scheduling_dpmsolver_multistep.py` (`index_for_timestep`, `_init_step_index`,
// `set_begin_index`, `add_noise`), which the other DPM-family files copy.
import { Tensor, TorchGenerator } from "@pagkit/tensor"
import { SchedulerArgumentError, SchedulerStateError } from "../errors.js"
import { checkOneOf } from "./config.js"
import type { Scheduler, SchedulerConfig, SetTimestepsOptions, StepOptions, StepOutput } from "../scheduler.js"
import { alphaSigmaOf, f32 } from "./dpm-math.js"

/** Base class of the DPM-family schedulers (internal). */
export abstract class DpmSchedulerBase implements Scheduler {
  abstract readonly className: string
  abstract readonly config: SchedulerConfig
  readonly order: number = 1
  initNoiseSigma = 1
  timesteps: readonly number[] = []
  /** Inference sigmas (float32 values), one more than `timesteps`. */
  sigmas: readonly number[] | undefined = undefined
  protected stepIndexValue: number | undefined = undefined
  protected beginIndexValue: number | undefined = undefined
  protected numInferenceSteps: number | undefined = undefined

  abstract setTimesteps(options: number | SetTimestepsOptions): void
  abstract step(
    modelOutput: Tensor<"float32">,
    timestep: number,
    sample: Tensor<"float32">,
    options?: StepOptions,
  ): StepOutput

  /** `step_index`: the index of the next step, or `undefined` before the first one. */
  get stepIndex(): number | undefined {
    return this.stepIndexValue
  }

  /** `begin_index` set by {@link setBeginIndex}. */
  get beginIndex(): number | undefined {
    return this.beginIndexValue
  }

  setBeginIndex(beginIndex: number): void {
    if (!Number.isInteger(beginIndex) || beginIndex < 0) {
      throw new SchedulerArgumentError(
        `${this.className}.setBeginIndex: expected a non-negative integer, found ${beginIndex}. Pass the index of the first timestep to run.`,
      )
    }
    this.beginIndexValue = beginIndex
  }

  scaleModelInput(sample: Tensor<"float32">, _timestep: number): Tensor<"float32"> {
    return sample
  }

  /** `index_for_timestep`: the second match when a timestep repeats, the last index when none matches. */
  indexForTimestep(timestep: number, scheduleTimesteps: readonly number[] = this.timesteps): number {
    const matches: number[] = []
    scheduleTimesteps.forEach((t, i) => {
      if (t === timestep) matches.push(i)
    })
    if (matches.length === 0) return this.timesteps.length - 1
    return matches.length > 1 ? matches[1]! : matches[0]!
  }

  /** `_init_step_index` when the first step runs; throws when `setTimesteps` was never called. Returns the index. */
  protected currentStepIndex(timestep: number): number {
    if (this.numInferenceSteps === undefined) {
      throw new SchedulerStateError(
        `${this.className}.step: no timesteps set. Call setTimesteps(numInferenceSteps) before step().`,
      )
    }
    if (this.stepIndexValue === undefined) {
      this.stepIndexValue = this.beginIndexValue ?? this.indexForTimestep(timestep)
    }
    return this.stepIndexValue
  }

  /** The inference sigma at an index (float32 value). */
  protected sigmaAt(index: number): number {
    const sigma = this.sigmas?.[index]
    if (sigma === undefined) {
      throw new SchedulerStateError(
        `${this.className}: no sigma at index ${index} (schedule has ${this.sigmas?.length ?? 0}). Call setTimesteps and do not step past the last timestep.`,
      )
    }
    return sigma
  }

  /** Sigma indices `add_noise` uses for each timestep (diffusers' begin/step index rules). */
  protected addNoiseIndices(timesteps: readonly number[]): number[] {
    if (this.beginIndexValue === undefined) return timesteps.map((t) => this.indexForTimestep(t))
    const index = this.stepIndexValue ?? this.beginIndexValue
    return timesteps.map(() => index)
  }

  /** Whether `_sigma_to_alpha_sigma_t` uses flow-matching sigmas. */
  protected get flowSigmas(): boolean {
    return this.config["use_flow_sigmas"] === true
  }

  addNoise(
    originalSamples: Tensor<"float32">,
    noise: Tensor<"float32">,
    timesteps: readonly number[],
  ): Tensor<"float32"> {
    const indices = this.addNoiseIndices(timesteps)
    return perBatch(originalSamples, noise, indices.length, (row) => {
      const { alpha, sigma } = alphaSigmaOf(this.sigmaAt(indices[Math.min(row, indices.length - 1)]!), this.flowSigmas)
      return [alpha, sigma]
    })
  }
}

/**
 * `a_b · x0 + s_b · noise` per batch row `b`, float32, with `(a_b, s_b) = coefficients(b)`. One timestep broadcasts
 * over the batch; otherwise there must be one per row.
 */
export function perBatch(
  originalSamples: Tensor<"float32">,
  noise: Tensor<"float32">,
  count: number,
  coefficients: (row: number) => readonly [number, number],
): Tensor<"float32"> {
  if (originalSamples.data.length !== noise.data.length) {
    throw new SchedulerArgumentError(
      `addNoise: noise ${noise.describe()} does not match samples ${originalSamples.describe()}. Pass noise of the samples' shape.`,
    )
  }
  const batch = originalSamples.shape[0] ?? 1
  if (count !== 1 && count !== batch) {
    throw new SchedulerArgumentError(
      `addNoise: expected 1 or ${batch} timesteps (one per batch row), found ${count}.`,
    )
  }
  const per = originalSamples.data.length / batch
  const out = new Float32Array(originalSamples.data.length)
  for (let b = 0; b < batch; b++) {
    const [a, s] = coefficients(count === 1 ? 0 : b)
    for (let i = b * per; i < (b + 1) * per; i++) out[i] = f32(a * originalSamples.data[i]!) + f32(s * noise.data[i]!)
  }
  return new Tensor("float32", out, originalSamples.shape)
}

/** `randn_tensor(shape, generator, dtype=float32)`: draws from the step's generator (or a fresh random one). */
export function drawNoise(shape: readonly number[], generator: TorchGenerator | undefined): Float32Array {
  const source = generator ?? new TorchGenerator(Math.floor(Math.random() * 2 ** 52))
  const drawn = source.randn(shape, { dtype: "float32" })
  return drawn.data instanceof Float32Array ? drawn.data : Float32Array.from(drawn.data as ArrayLike<number>)
}

/** Checks that `modelOutput` and `sample` agree in size; returns their data. */
export function stepInputs(
  className: string,
  modelOutput: Tensor<"float32">,
  sample: Tensor<"float32">,
): { readonly output: Float32Array; readonly sample: Float32Array } {
  if (modelOutput.data.length !== sample.data.length) {
    throw new SchedulerArgumentError(
      `${className}.step: model output ${modelOutput.describe()} does not match sample ${sample.describe()}. Pass the model output for this sample.`,
    )
  }
  return { output: modelOutput.data, sample: sample.data }
}

/** Parses `setTimesteps`' argument into a step count and the optional explicit values. */
export function timestepsRequest(options: number | SetTimestepsOptions): SetTimestepsOptions {
  return typeof options === "number" ? { numInferenceSteps: options } : options
}

/** Accepts diffusers' aliases: `deis` → `dpmsolver++`, `logrho`/`bh1`/`bh2` → `midpoint`; checks the rest. */
export function normalizeDpmAlgorithm<C extends { algorithm_type: string; solver_type: string }>(
  className: string,
  config: C,
  algorithms: readonly string[],
): C {
  const algorithm = config.algorithm_type === "deis" ? "dpmsolver++" : config.algorithm_type
  const solver = ["logrho", "bh1", "bh2"].includes(config.solver_type) ? "midpoint" : config.solver_type
  checkOneOf(className, "algorithm_type", algorithm, algorithms)
  checkOneOf(className, "solver_type", solver, ["midpoint", "heun"])
  return { ...config, algorithm_type: algorithm, solver_type: solver }
}

/** The prediction types a DPM-family model output may use: flow prediction only when solving for x0. */
export function checkPredictionType(className: string, predictionType: unknown, dataPrediction: boolean): void {
  const allowed = ["epsilon", "sample", "v_prediction"]
  checkOneOf(className, "prediction_type", predictionType, dataPrediction ? [...allowed, "flow_prediction"] : allowed)
}

/**
 * Accepts `lambda_min_clipped` written as a string (`"-Infinity"`, `"-inf"`): diffusers saves `-inf` as the
 * non-standard JSON literal `-Infinity`, which loaders may have turned into a string.
 */
export function withNumericLambdaMin(config: SchedulerConfig): SchedulerConfig {
  const value = config["lambda_min_clipped"]
  if (typeof value !== "string") return config
  const parsed = /^-inf(inity)?$/i.test(value.trim()) ? -Infinity : Number(value)
  return Number.isNaN(parsed) ? config : { ...config, lambda_min_clipped: parsed }
}

/** The timestep spacings of the DPM-family `set_timesteps`. */
export const DPM_TIMESTEP_SPACINGS = ["linspace", "leading", "trailing"] as const
