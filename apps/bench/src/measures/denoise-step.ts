// Measurement 2: one denoising step of the PAG pipeline (CFG + PAG, 3 rows) vs one raw UNet call of batch 3.
import { performance } from "node:perf_hooks"
import * as ort from "onnxruntime-node"
import { AutoPipelineForText2Image } from "@pagkit/pipelines"
import type { SdxlText2ImagePipeline } from "@pagkit/pipelines"
import { tinyModelPath } from "@pagkit/tiny-models"
import { pagkitSessionOptions, rawSessionOptions } from "../internal/config.js"
import { formatMs, formatRatio, formatSummary } from "../internal/format.js"
import { ratio, summarize } from "../internal/stats.js"
import { timeOnce } from "../internal/timing.js"
import { LATENT_SIDE, rawFeeds, unetRowInputs } from "../internal/unet-inputs.js"
import type { Section } from "../report.js"
import { UNET_PATH } from "./unet-call.js"

/** Rounds: each is one pipeline run of `steps` steps, then `steps` raw UNet calls. */
export interface StepPlan {
  readonly warmupRounds: number
  readonly rounds: number
  readonly steps: number
}

/** Per-step times of one pipeline run: whole step and the time spent inside `unet.denoise`. */
interface StepTimes {
  readonly step: number[]
  readonly unet: number[]
}

/** Runs the pipeline once, timing each step (between step-end callbacks) and each `unet.denoise` call. */
async function timedRun(pipe: SdxlText2ImagePipeline, steps: number): Promise<StepTimes> {
  const unet = pipe.model.unet
  const denoise = unet.denoise
  let inside = 0
  // Wrap this instance's denoise to time the UNet call as the pipeline makes it (benchmark-only instrumentation).
  unet.denoise = async (input) => {
    const start = performance.now()
    try {
      return await denoise.call(unet, input)
    } finally {
      inside += performance.now() - start
    }
  }
  const times: StepTimes = { step: [], unet: [] }
  let last = 0
  try {
    await pipe.run({
      prompt: "a red circle on a white background",
      height: LATENT_SIDE * 2,
      width: LATENT_SIDE * 2,
      numInferenceSteps: steps,
      guidanceScale: 5,
      pagScale: 3,
      seed: 0,
      outputType: "latent",
      onStep: ({ step }) => {
        const now = performance.now()
        // Step 0 also holds prompt encoding and latents preparation: only later steps are timed.
        if (step > 0) {
          times.step.push(now - last)
          times.unet.push(inside)
        }
        inside = 0
        last = performance.now()
      },
    })
  } finally {
    unet.denoise = denoise
  }
  return times
}

/** Times steps of a CFG + PAG text-to-image run (batched: one UNet call of 3 rows per step). */
export async function measureDenoiseStep(plan: StepPlan): Promise<Section> {
  const pipe = await AutoPipelineForText2Image.fromPretrained(tinyModelPath("tiny-sdxl"), {
    enablePag: true,
    pagAppliedLayers: ["mid"],
    sessionOptions: pagkitSessionOptions(),
  })
  const raw = await ort.InferenceSession.create(UNET_PATH, rawSessionOptions())
  const feeds = rawFeeds(unetRowInputs(3), 801)
  const stepMs: number[] = []
  const unetMs: number[] = []
  const rawMs: number[] = []
  for (let round = 0; round < plan.warmupRounds + plan.rounds; round++) {
    const times = await timedRun(pipe, plan.steps)
    const raws: number[] = []
    for (let i = 0; i < plan.steps; i++) raws.push(await timeOnce(() => raw.run(feeds)))
    if (round < plan.warmupRounds) continue
    stepMs.push(...times.step)
    unetMs.push(...times.unet)
    rawMs.push(...raws)
  }
  await raw.release()
  const step = summarize(stepMs)
  const unet = summarize(unetMs)
  const rawCall = summarize(rawMs)
  const overhead = summarize(stepMs.map((ms, i) => ms - unetMs[i]!))
  return {
    id: "denoiseStep",
    title: "2. One denoising step (CFG + PAG, batched 3 rows) vs one raw UNet call",
    summary:
      `${plan.rounds} rounds of one pipeline run (${plan.steps} steps, 64×64, guidance 5, PAG 3 on "mid", latent output; ` +
      `steps 2…${plan.steps} timed) and ${plan.steps} raw calls of batch 3, after ${plan.warmupRounds} warm-up round(s). ` +
      `"UNet call in the pipeline" is the time inside \`unet.denoise\` (gate tensor, feed conversion, the hooked graph); ` +
      `"loop overhead" is the rest of the step: planning, gathering rows, guidance combine, scheduler step.`,
    table: {
      headers: ["what", "time", "vs raw UNet call"],
      rows: [
        ["raw onnxruntime UNet call, batch 3", formatSummary(rawCall), formatRatio(1)],
        ["UNet call in the pipeline (hooked, 3 rows)", formatSummary(unet), formatRatio(ratio(unet.median, rawCall.median))],
        ["whole pipeline step", formatSummary(step), formatRatio(ratio(step.median, rawCall.median))],
        ["loop overhead (step − UNet call)", formatMs(overhead.median), formatRatio(ratio(overhead.median, rawCall.median))],
      ],
    },
    data: { plan, rawCall, unetInPipeline: unet, step, overhead },
  }
}
