// `convert_model_output` of the DPM-family VP schedulers: turn the model output into the data prediction x0
// (DPM-Solver++, UniPC predict_x0, SA-Solver data_prediction) or the noise prediction eps (DPM-Solver, DEIS).
// Ported from diffusers `DPMSolverMultistepScheduler.convert_model_output`.
import { InvalidSchedulerConfigError } from "../errors.js"
import { alphaSigmaOf, f32, scaledDifference, subScaledDivide, thresholdSample } from "./dpm-math.js"

/** The options `convert_model_output` reads. */
export interface ConvertOptions {
  readonly className: string
  readonly predictionType: string
  readonly flow: boolean
  readonly thresholding: boolean
  readonly dynamicThresholdingRatio: number
  readonly sampleMaxValue: number
  /** `[batch, channels, …]` of the sample (for thresholding and learned variance). */
  readonly shape: readonly number[]
}

/** The config options `convert_model_output` reads (every VP DPM-family config has them). */
export interface ConvertConfig {
  readonly prediction_type: string
  readonly use_flow_sigmas: boolean
  readonly thresholding: boolean
  readonly dynamic_thresholding_ratio: number
  readonly sample_max_value: number
}

/** {@link ConvertOptions} from a config, for samples of `shape`. */
export function convertOptionsOf(className: string, config: ConvertConfig, shape: readonly number[]): ConvertOptions {
  return {
    className,
    predictionType: config.prediction_type,
    flow: config.use_flow_sigmas,
    thresholding: config.thresholding,
    dynamicThresholdingRatio: config.dynamic_thresholding_ratio,
    sampleMaxValue: config.sample_max_value,
    shape,
  }
}

/** A step's model output and sample, as float32 data of the same size. */
export interface StepData {
  readonly output: Float32Array
  readonly sample: Float32Array
}

/** `convert_model_output` at `sigma`: the data prediction x0 when `toData`, else the noise prediction eps. */
export function convertModelOutput(
  inputs: StepData,
  sigma: number,
  options: ConvertOptions & { readonly toData: boolean },
): Float32Array {
  return options.toData
    ? dataPrediction(inputs.output, inputs.sample, sigma, options)
    : noisePrediction(inputs.output, inputs.sample, sigma, options)
}

/** `model_output[:, :3]` for `variance_type` learned / learned_range (the mean part). */
export function meanChannels(output: Float32Array, shape: readonly number[], channels = 3): Float32Array {
  const batch = shape[0] ?? 1
  const total = shape[1] ?? 1
  const inner = output.length / (batch * total)
  const out = new Float32Array(batch * channels * inner)
  for (let b = 0; b < batch; b++) {
    out.set(output.subarray(b * total * inner, (b * total + channels) * inner), b * channels * inner)
  }
  return out
}

/** The data prediction x0 at sigma (DPM-Solver++ branch; thresholded when configured). */
export function dataPrediction(
  output: Float32Array,
  sample: Float32Array,
  sigma: number,
  options: ConvertOptions,
): Float32Array {
  const { alpha, sigma: sigmaT } = alphaSigmaOf(sigma, options.flow)
  let x0: Float32Array
  switch (options.predictionType) {
    case "epsilon":
      x0 = subScaledDivide(sample, sigmaT, output, alpha)
      break
    case "sample":
      x0 = Float32Array.from(output)
      break
    case "v_prediction":
      x0 = scaledDifference(alpha, sample, sigmaT, output)
      break
    case "flow_prediction":
      x0 = subScaledDivide(sample, sigma, output, 1)
      break
    default:
      throw unsupported(options, ["epsilon", "sample", "v_prediction", "flow_prediction"])
  }
  if (options.thresholding) {
    x0 = thresholdSample(x0, options.shape, {
      ratio: options.dynamicThresholdingRatio,
      maxValue: options.sampleMaxValue,
    })
  }
  return x0
}

/** The noise prediction eps at sigma (DPM-Solver branch; thresholding goes through x0 and back). */
export function noisePrediction(
  output: Float32Array,
  sample: Float32Array,
  sigma: number,
  options: ConvertOptions,
): Float32Array {
  const { alpha, sigma: sigmaT } = alphaSigmaOf(sigma, options.flow)
  let eps: Float32Array
  switch (options.predictionType) {
    case "epsilon":
      eps = Float32Array.from(output)
      break
    case "sample":
      // (sample - alpha·x0) / sigma
      eps = subScaledDivide(sample, alpha, output, sigmaT)
      break
    case "v_prediction": {
      eps = new Float32Array(output.length)
      for (let i = 0; i < eps.length; i++) eps[i] = f32(alpha * output[i]!) + f32(sigmaT * sample[i]!)
      break
    }
    default:
      throw unsupported(options, ["epsilon", "sample", "v_prediction"])
  }
  if (options.thresholding) {
    const x0 = thresholdSample(subScaledDivide(sample, sigmaT, eps, alpha), options.shape, {
      ratio: options.dynamicThresholdingRatio,
      maxValue: options.sampleMaxValue,
    })
    eps = subScaledDivide(sample, alpha, x0, sigmaT)
  }
  return eps
}

function unsupported(options: ConvertOptions, allowed: readonly string[]): InvalidSchedulerConfigError {
  return new InvalidSchedulerConfigError(
    `${options.className}: prediction_type "${options.predictionType}" is not supported here; expected one of ${allowed
      .map((a) => `"${a}"`)
      .join(", ")}. Fix scheduler_config.json.`,
  )
}
