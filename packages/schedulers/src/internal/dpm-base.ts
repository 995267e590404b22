// What every DPM-family scheduler shares: step/begin index bookkeeping, timestep lookup, the VP `add_noise`, and the
// config checks, order choice and model-output history handling their constructors, `set_timesteps` and `step`
// repeat. Ported from diffusers `scheduling_dpmsolver_multistep.py` (`index_for_timestep`, `_init_step_index`,
// `set_begin_index`, `add_noise`, `__init__`, `step`), which the other DPM-family files copy.
import { Tensor } from "@pagkit/tensor"
import { InvalidSchedulerConfigError, SchedulerArgumentError, SchedulerStateError } from "../errors.js"
import { checkOneOf } from "./config.js"
import type { Scheduler, SchedulerConfig, SetTimestepsOptions, StepOptions, StepOutput } from "../scheduler.js"
import { meanChannels } from "./dpm-convert.js"
import type { StepData } from "./dpm-convert.js"
import { alphaSigmaOf, f32 } from "./dpm-math.js"
import type { AlphaSigma } from "./dpm-math.js"

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

  /** Installs the schedule `setTimesteps` computed and forgets the step and begin indices. */
  protected setSchedule(sigmas: readonly number[], timesteps: readonly number[]): void {
    this.sigmas = sigmas
    this.timesteps = timesteps
    this.numInferenceSteps = timesteps.length
    this.stepIndexValue = undefined
    this.beginIndexValue = undefined
  }

  /**
   * `step`'s model output and sample data: `model_output[:, :3]` when `variance_type` is learned and the model
   * predicts epsilon (`convert_model_output`'s first lines), the output as given otherwise.
   */
  protected stepData(modelOutput: Tensor<"float32">, sample: Tensor<"float32">): StepData {
    const variance = this.config["variance_type"]
    const learned = variance === "learned" || variance === "learned_range"
    if (!learned || this.config["prediction_type"] !== "epsilon") return stepInputs(this.className, modelOutput, sample)
    // torch's [:, :3] keeps every channel when there are fewer than 3
    const channels = Math.min(3, modelOutput.shape[1] ?? 1)
    const sliced = meanChannels(modelOutput.data, modelOutput.shape, channels)
    const shape = [modelOutput.shape[0] ?? 1, channels, ...modelOutput.shape.slice(2)]
    return stepInputs(this.className, new Tensor("float32", sliced, shape), sample)
  }

  /** `[t, s0, s1, s2]` cut to `order + 1` points: alpha and sigma at sigma indices `index + 1, index, index - 1, …`. */
  protected multistepPoints(index: number, order: number): AlphaSigma[] {
    return [index + 1, index, index - 1, index - 2]
      .slice(0, order + 1)
      .map((i) => alphaSigmaOf(this.sigmaAt(i), this.flowSigmas))
  }

  /** Moves the step index past `index` and wraps the new sample. */
  protected finishStep(index: number, prevSample: Float32Array, shape: readonly number[]): StepOutput {
    this.stepIndexValue = index + 1
    return { prevSample: new Tensor("float32", prevSample, shape) }
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

/** Checks that `modelOutput` and `sample` agree in size; returns their data. */
export function stepInputs(className: string, modelOutput: Tensor<"float32">, sample: Tensor<"float32">): StepData {
  if (modelOutput.data.length !== sample.data.length) {
    throw new SchedulerArgumentError(
      `${className}.step: model output ${modelOutput.describe()} does not match sample ${sample.describe()}. Pass the model output for this sample.`,
    )
  }
  return { output: modelOutput.data, sample: sample.data }
}

/** An empty `model_outputs` history of `length` slots (oldest first). */
export function emptyHistory(length: number): (Float32Array | undefined)[] {
  return new Array<Float32Array | undefined>(length).fill(undefined)
}

/** The saved model outputs of a history, oldest first (the empty slots of the first steps skipped). */
export function savedOutputs(history: readonly (Float32Array | undefined)[]): Float32Array[] {
  return history.filter((m): m is Float32Array => m !== undefined)
}

/** Options of {@link multistepOrder}. */
export interface MultistepOrderOptions {
  readonly index: number
  readonly steps: number
  readonly solverOrder: number
  /** `lower_order_nums`: how many steps have run (capped at the solver order). */
  readonly lowerOrderNums: number
  /** `lower_order_final`: lower the order of the last two steps of short schedules (< 15 steps). */
  readonly lowerOrderFinal: boolean
  /** First order at the last step whatever the step count (`euler_at_final`, or a final sigma of 0). */
  readonly firstOrderAtFinal?: boolean
}

/** The solver order of a multistep `step` (diffusers' `lower_order_final` / `lower_order_second` rules). */
export function multistepOrder(options: MultistepOrderOptions): 1 | 2 | 3 {
  const { index, steps, solverOrder, lowerOrderNums } = options
  const shortSchedule = options.lowerOrderFinal && steps < 15
  const lowerOrderFinal = index === steps - 1 && (options.firstOrderAtFinal === true || shortSchedule)
  const lowerOrderSecond = index === steps - 2 && shortSchedule
  if (solverOrder === 1 || lowerOrderNums < 1 || lowerOrderFinal) return 1
  if (solverOrder === 2 || lowerOrderNums < 2 || lowerOrderSecond) return 2
  return 3
}

/** Throws unless `solver_order` is 1, 2 or 3. */
export function checkSolverOrder(className: string, solverOrder: number): void {
  if (solverOrder < 1 || solverOrder > 3) {
    throw new InvalidSchedulerConfigError(`${className}: solver_order must be 1, 2 or 3, found ${solverOrder}.`)
  }
}

/** DPM-Solver (noise prediction) cannot end on sigma 0: throws for `final_sigmas_type` "zero" without "++". */
export function checkFinalSigmasType(
  className: string,
  config: { readonly algorithm_type: string; readonly final_sigmas_type: string },
): void {
  if (!config.algorithm_type.endsWith("++") && config.final_sigmas_type === "zero") {
    throw new InvalidSchedulerConfigError(
      `${className}: final_sigmas_type "zero" is not supported for algorithm_type "${config.algorithm_type}". Set final_sigmas_type to "sigma_min".`,
    )
  }
}

/** `set_timesteps(mu=…)`: the flow shift `exp(mu)`, or `undefined` without mu; throws unless `use_dynamic_shifting`. */
export function dynamicFlowShift(
  className: string,
  config: { readonly use_dynamic_shifting: boolean },
  request: SetTimestepsOptions,
): number | undefined {
  if (request.mu === undefined) return undefined
  if (!config.use_dynamic_shifting) {
    throw new InvalidSchedulerConfigError(`${className}: mu needs use_dynamic_shifting true in the config.`)
  }
  return Math.exp(request.mu)
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
