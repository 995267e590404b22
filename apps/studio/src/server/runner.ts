// The ONE place the studio talks to pagkit's pipelines: a job (plain JSON) → a PipelineWorker run → one PNG.
// The worker serves every family of pagkit's table (SDXL, PixArt-Sigma), chosen by the folder's model_index.json.
import { AbortedError, PipelineWorker } from "@pagkit/pipelines"
import type { WorkerCallOptions, WorkerRunRequest } from "@pagkit/pipelines"
import { StudioError } from "./errors.js"
import type { JobInput } from "./job-schema.js"

/** Progress of a run: `step` finished steps of `steps` (img2img and inpainting run `steps × strength`). */
export type RunProgress = (progress: { readonly step: number; readonly steps: number }) => void

/** Runs jobs off the event loop, one at a time, keeping the model loaded between runs. */
export interface StudioRunner {
  /** The job's image as PNG bytes. Rejects with an error whose `code` is `ABORTED` when `signal` aborts. */
  run(job: JobInput, options: { readonly signal?: AbortSignal; readonly onProgress?: RunProgress }): Promise<Uint8Array>
  /** Ends the worker thread (a run in flight rejects). */
  close(): Promise<void>
}

/** The worker request for a job: PAG is enabled only when `pagScale > 0` (the PAG-off image of a pair). */
export function workerRequest(job: JobInput, modelDir: string): WorkerRunRequest {
  const pag = job.pagScale > 0
  const call: WorkerCallOptions = {
    prompt: job.prompt,
    numInferenceSteps: job.steps,
    guidanceScale: job.guidanceScale,
    seed: job.seed,
    // image2image takes its size from the input image (diffusers' img2img has no width/height)
    ...(job.task === "image2image" ? {} : { width: job.width, height: job.height }),
    ...(job.negativePrompt === undefined ? {} : { negativePrompt: job.negativePrompt }),
    ...(pag ? { pagScale: job.pagScale } : {}),
    ...(job.image === undefined ? {} : { image: Buffer.from(job.image, "base64") }),
    ...(job.mask === undefined ? {} : { maskImage: Buffer.from(job.mask, "base64") }),
    ...(job.strength === undefined || job.task === "text2image" ? {} : { strength: job.strength }),
  }
  return {
    pipeline: {
      task: job.task,
      modelDir,
      enablePag: pag,
      ...(job.pagLayers.length === 0 ? {} : { pagAppliedLayers: [...job.pagLayers] }),
      ...(job.scheduler === undefined ? {} : { scheduler: job.scheduler }),
    },
    call,
  }
}

/**
 * A runner over one `PipelineWorker` (a worker thread of this process).
 * @example
 * const runner = createRunner({ modelDir, family: "sdxl" })
 * const png = await runner.run(job, { signal, onProgress: ({ step, steps }) => console.log(step, steps) })
 */
export function createRunner(options: { readonly modelDir: string; readonly family: "sdxl" | "pixart-sigma" }): StudioRunner {
  const worker = new PipelineWorker()
  return {
    async run(job, { signal, onProgress }) {
      if (options.family !== "sdxl" && job.task !== "text2image") {
        throw new StudioError("TASK_NOT_SERVED", `${options.family} models do text-to-image only; "${job.task}" needs an SDXL folder.`, { status: 400 })
      }
      const output = await worker.run(workerRequest(job, options.modelDir), {
        ...(signal === undefined ? {} : { signal }),
        onProgress: (event) => onProgress?.({ step: event.step + 1, steps: event.numSteps }),
      })
      // An abort that lands after the last step (during VAE decoding) still leaves nothing behind.
      if (signal?.aborted === true) throw new AbortedError(job.steps, job.steps)
      const [png] = await output.png()
      if (png === undefined) throw new StudioError("NO_IMAGE", "the pipeline returned no image; expected one PNG per job.")
      return png
    },
    close: () => worker.close(),
  }
}
