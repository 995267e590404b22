// Measurement 2: one denoising step of the PAG pipeline (CFG + PAG, 3 rows) vs one raw UNet call of batch 3.
import * as ort from "onnxruntime-node"
import { AutoPipelineForText2Image } from "@pagkit/pipelines"
import { tinyModelPath } from "@pagkit/tiny-models"
import { pagkitSessionOptions, rawSessionOptions } from "../internal/config.js"
import { TIME_HEADERS, timeCells } from "../internal/format.js"
import { timePipelineRun } from "../internal/run-timing.js"
import { summarizeTimes } from "../internal/stats.js"
import { record, samples, timeOnce } from "../internal/timing.js"
import { LATENT_SIDE, rawFeeds, unetRowInputs } from "../internal/unet-inputs.js"
import type { Section } from "../report.js"
import { UNET_PATH } from "./unet-call.js"

/** Rounds: each is one pipeline run of `steps` steps, then `steps` raw UNet calls. */
export interface StepPlan {
  readonly warmupRounds: number
  readonly rounds: number
  readonly steps: number
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
  const stepMs = samples()
  const unetMs = samples()
  const rawMs = samples()
  for (let round = 0; round < plan.warmupRounds + plan.rounds; round++) {
    const times = await timePipelineRun(pipe, {
      prompt: "a red circle on a white background",
      height: LATENT_SIDE * 2,
      width: LATENT_SIDE * 2,
      numInferenceSteps: plan.steps,
      guidanceScale: 5,
      pagScale: 3,
      seed: 0,
      outputType: "latent",
    })
    const raws = samples()
    for (let i = 0; i < plan.steps; i++) record(raws, await timeOnce(() => raw.run(feeds)))
    if (round < plan.warmupRounds) continue
    for (const [into, from] of [[stepMs, times.steps], [unetMs, times.unetPerStep], [rawMs, raws]] as const) {
      into.wall.push(...from.wall)
      into.cpu.push(...from.cpu)
    }
  }
  await raw.release()
  const step = summarizeTimes(stepMs)
  const unet = summarizeTimes(unetMs)
  const rawCall = summarizeTimes(rawMs)
  // Per step: the step minus its UNet call(s).
  const overhead = summarizeTimes({
    wall: stepMs.wall.map((ms, i) => ms - unetMs.wall[i]!),
    cpu: stepMs.cpu.map((ms, i) => ms - unetMs.cpu[i]!),
  })
  return {
    id: "denoiseStep",
    title: "2. One denoising step (CFG + PAG, batched 3 rows) vs one raw UNet call",
    summary:
      `${plan.rounds} rounds of one pipeline run (${plan.steps} steps, 64×64, guidance 5, PAG 3 on "mid", latent output; ` +
      `steps 2…${plan.steps} timed) and ${plan.steps} raw calls of batch 3, after ${plan.warmupRounds} warm-up round(s). ` +
      `"UNet call in the pipeline" is the time inside \`unet.denoise\` (gate tensor, feed conversion, the hooked graph); ` +
      `"loop overhead" is the rest of the step: planning, gathering rows, guidance combine, scheduler step.`,
    table: {
      headers: ["what", ...TIME_HEADERS],
      rows: [
        ["raw onnxruntime UNet call, batch 3", ...timeCells(rawCall, rawCall)],
        ["UNet call in the pipeline (hooked, 3 rows)", ...timeCells(unet, rawCall)],
        ["whole pipeline step", ...timeCells(step, rawCall)],
        ["loop overhead (step − UNet call)", ...timeCells(overhead, rawCall)],
      ],
    },
    data: { plan, rawCall, unetInPipeline: unet, step, overhead, samples: { rawCall: rawMs, unetInPipeline: unetMs, step: stepMs } },
  }
}
