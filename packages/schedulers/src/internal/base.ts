// What every scheduler class shares: config, timestep / sigma tables, step-index bookkeeping
// (diffusers' `_step_index`, `_begin_index`, `index_for_timestep`, `_init_step_index`).
import type { Tensor } from "@pagkit/tensor"
import { SchedulerArgumentError, SchedulerStateError } from "../errors.js"
import type { Scheduler, SchedulerConfig, SetTimestepsOptions, StepOptions, StepOutput } from "../scheduler.js"

/** `setTimesteps` options normalised from a number or an options object. */
export function normalizeSetTimesteps(options: number | SetTimestepsOptions): SetTimestepsOptions {
  return typeof options === "number" ? { numInferenceSteps: options } : options
}

/** Throws unless `n` is a whole number in [1, numTrainTimesteps]. */
export function checkInferenceSteps(className: string, n: number | undefined, numTrainTimesteps: number): number {
  if (n === undefined || !Number.isInteger(n) || n < 1 || n > numTrainTimesteps) {
    throw new SchedulerArgumentError(
      `${className}.setTimesteps: numInferenceSteps should be a whole number from 1 to num_train_timesteps (${numTrainTimesteps}), found ${String(n)}.`,
    )
  }
  return n
}

/** Base of the scheduler classes: holds tables and step-index state; subclasses implement the math. */
export abstract class SchedulerBase<C extends SchedulerConfig> implements Scheduler {
  abstract readonly className: string
  readonly config: C
  order = 1
  initNoiseSigma = 1
  /** `num_inference_steps` after {@link setTimesteps}. */
  numInferenceSteps: number | undefined = undefined
  protected timestepTable: number[] = []
  protected sigmaTable: number[] | undefined = undefined
  protected stepIndexValue: number | undefined = undefined
  protected beginIndexValue: number | undefined = undefined

  constructor(config: C) {
    this.config = config
  }

  get timesteps(): readonly number[] {
    return this.timestepTable
  }

  get sigmas(): readonly number[] | undefined {
    return this.sigmaTable
  }

  /** `step_index`: the index of the next step, once the loop has started. */
  get stepIndex(): number | undefined {
    return this.stepIndexValue
  }

  /** `begin_index`, when set by {@link setBeginIndex}. */
  get beginIndex(): number | undefined {
    return this.beginIndexValue
  }

  setBeginIndex(beginIndex: number): void {
    if (!Number.isInteger(beginIndex) || beginIndex < 0) {
      throw new SchedulerArgumentError(
        `${this.className}.setBeginIndex: expected a whole number >= 0, found ${beginIndex}.`,
      )
    }
    this.beginIndexValue = beginIndex
  }

  abstract setTimesteps(options: number | SetTimestepsOptions): void
  abstract step(
    modelOutput: Tensor<"float32">,
    timestep: number,
    sample: Tensor<"float32">,
    options?: StepOptions,
  ): StepOutput
  abstract addNoise(
    original: Tensor<"float32">,
    noise: Tensor<"float32">,
    timesteps: readonly number[],
  ): Tensor<"float32">

  scaleModelInput(sample: Tensor<"float32">, _timestep: number): Tensor<"float32"> {
    return sample
  }

  /** Throws unless `setTimesteps` ran. */
  protected requireTimesteps(): void {
    if (this.numInferenceSteps === undefined) {
      throw new SchedulerStateError(
        `${this.className}: the number of inference steps is not set. Call setTimesteps(numInferenceSteps) before stepping.`,
      )
    }
  }

  /**
   * `index_for_timestep`: the position of `timestep` in `schedule`; the second match when there are several
   * (so a img2img start in the middle of a duplicated pair does not skip a sigma).
   */
  protected indexForTimestep(timestep: number, schedule: readonly number[] = this.timestepTable): number {
    const matches: number[] = []
    for (let i = 0; i < schedule.length && matches.length < 2; i++) if (schedule[i] === timestep) matches.push(i)
    if (matches.length === 0) {
      throw new SchedulerArgumentError(
        `${this.className}: timestep ${timestep} is not one of the scheduler's timesteps [${schedule.slice(0, 8).join(", ")}${schedule.length > 8 ? ", …" : ""}]. Pass a value from scheduler.timesteps.`,
      )
    }
    return matches.length > 1 ? matches[1]! : matches[0]!
  }

  /**
   * `_init_step_index`: start at `begin_index` when set, else where `timestep` is. Throws once the index is past
   * the last timestep (a finished run stepped again), where the next sigma would be missing and the step NaN.
   */
  protected initStepIndex(timestep: number): number {
    if (this.stepIndexValue === undefined) {
      this.stepIndexValue = this.beginIndexValue ?? this.indexForTimestep(timestep)
    }
    if (this.stepIndexValue >= this.timestepTable.length) {
      throw new SchedulerStateError(
        `${this.className}: step index ${this.stepIndexValue} is past the last of the ${this.timestepTable.length} timesteps. Call setTimesteps before each run (and keep setBeginIndex below the number of timesteps).`,
      )
    }
    return this.stepIndexValue
  }

  /**
   * The step indices `add_noise` uses in the sigma-based schedulers: by timestep value before the loop without a
   * begin index, else the current step index, else the begin index.
   */
  protected addNoiseIndices(timesteps: readonly number[]): number[] {
    if (this.beginIndexValue === undefined) return timesteps.map((t) => this.indexForTimestep(t))
    const index = this.stepIndexValue ?? this.beginIndexValue
    return timesteps.map(() => index)
  }
}
