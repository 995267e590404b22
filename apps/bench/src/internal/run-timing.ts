// Times one pipeline run from the inside: each step, each UNet call, and the denoising loop as a whole.
import type { SdxlText2ImageOptions, SdxlText2ImagePipeline } from "@pagkit/pipelines"
import type { Reading, Samples, Timing } from "./timing.js"
import { readClock, record, samples, since } from "./timing.js"

/** What one run took (wall and CPU milliseconds). */
export interface RunTiming {
  /** The whole `pipe.run` call (prompt encoding, loop, decoding). */
  readonly total: Timing
  /** From the first UNet call's start to the last step's end: the denoising loop only. */
  readonly loop: Timing
  /** Per step from the second on (between step-end callbacks): the whole step. */
  readonly steps: Samples
  /** Per step from the second on: time inside `unet.denoise` (summed over the step's calls). */
  readonly unetPerStep: Samples
}

/**
 * Runs `pipe` once with `call`, wrapping this instance's `unet.denoise` to time the UNet calls as the pipeline makes
 * them (benchmark-only instrumentation, removed afterwards). Step 0 is not in `steps`: it also holds prompt encoding.
 */
export async function timePipelineRun(pipe: SdxlText2ImagePipeline, call: Omit<SdxlText2ImageOptions, "onStep">): Promise<RunTiming> {
  const unet = pipe.model.unet
  const denoise = unet.denoise
  let inStep = { wall: 0, cpu: 0 }
  let loopStart: Reading | undefined
  let lastStepEnd: Reading | undefined
  const steps = samples()
  const unetPerStep = samples()
  unet.denoise = async (input) => {
    const start = readClock()
    loopStart ??= start
    try {
      return await denoise.call(unet, input)
    } finally {
      const t = since(start)
      inStep = { wall: inStep.wall + t.wall, cpu: inStep.cpu + t.cpu }
    }
  }
  const started = readClock()
  try {
    await pipe.run({
      ...call,
      onStep: ({ step }) => {
        if (step > 0 && lastStepEnd !== undefined) {
          record(steps, since(lastStepEnd))
          record(unetPerStep, inStep)
        }
        inStep = { wall: 0, cpu: 0 }
        lastStepEnd = readClock()
      },
    })
  } finally {
    unet.denoise = denoise
  }
  const total = since(started)
  const end = lastStepEnd ?? readClock()
  const from = loopStart ?? end
  return { total, loop: { wall: end.wall - from.wall, cpu: end.cpu - from.cpu }, steps, unetPerStep }
}
