import type { MessagePort, Worker } from "node:worker_threads"
import { AbortedError, InvalidOptionError } from "../errors.js"
import { PipelineOutput } from "../output.js"
import { callToWire, fromWire, unserializableOptions } from "./protocol.js"
import type { HostMessage, WireResult, WorkerMessage, WorkerProgressEvent, WorkerRunRequest, WorkerTimings } from "./protocol.js"
import { WorkerClosedError, WorkerFailedError, reviveError } from "./remote-error.js"
import { spawnPipelineWorker } from "./spawn-worker.js"
import { DEFAULT_CLOSE_TIMEOUT_MS } from "./worker-control.js"
import type { CloseMessage } from "./worker-control.js"

/** Options of {@link PipelineWorker.run} and {@link runInWorker}. */
export interface WorkerRunOptions {
  /** Aborting stops the run after the current step; the promise rejects with `AbortedError`. */
  readonly signal?: AbortSignal
  /** Called on the calling thread after each step, in order. */
  readonly onProgress?: (event: WorkerProgressEvent) => void
}

interface PendingRun {
  readonly resolve: (output: WorkerOutput) => void
  readonly reject: (error: Error) => void
  readonly onProgress: ((event: WorkerProgressEvent) => void) | undefined
  /** An error of the caller's `onProgress`: the run is cancelled and rejects with it. */
  callbackError?: Error
}

/** A worker run's result: a {@link PipelineOutput} (tensors transferred, not copied) plus the pipeline's class name. */
export class WorkerOutput extends PipelineOutput {
  /** diffusers' class of the pipeline that ran (e.g. `StableDiffusionXLPAGPipeline`). */
  readonly className: string
  /** Time spent in the worker loading the pipeline and running the call. */
  readonly timings: WorkerTimings

  constructor(parts: ConstructorParameters<typeof PipelineOutput>[0] & { className: string; timings: WorkerTimings }) {
    super(parts)
    this.className = parts.className
    this.timings = parts.timings
  }
}

/** Options of the {@link PipelineWorker} constructor. */
export interface PipelineWorkerOptions {
  /**
   * How long `close()` waits for the thread to end itself (it does so after its current native call: a session
   * creation or one denoising step) before falling back to `Worker.terminate()`. Default 120 000 ms. The fallback
   * can abort the whole process if it lands inside an onnxruntime call, so keep this above your longest step.
   */
  readonly closeTimeoutMs?: number
}

interface LiveWorker {
  readonly worker: Worker
  readonly control: MessagePort
  /** Settles with the exit code once the thread has ended. */
  readonly exited: Promise<number>
}

function outputFromWire(result: WireResult): WorkerOutput {
  return new WorkerOutput({
    className: result.className,
    timings: result.timings,
    images: result.images === undefined ? undefined : fromWire({ ...result.images, dtype: "float32" }),
    latents: fromWire({ ...result.latents, dtype: "float32" }),
    seed: result.seed,
    warnings: result.warnings,
  })
}

/**
 * A worker thread that loads an SDXL pipeline and runs calls on it, so the UNet never blocks the calling thread's
 * event loop (DESIGN §7). It keeps the loaded pipeline between runs (reloading weights only for another folder),
 * runs one call at a time in order, streams step progress, stops between steps on abort, and hands the result's
 * tensors back by transfer (no copy). The thread starts on the first run; `close()` ends it.
 * @example
 * const worker = new PipelineWorker()
 * const controller = new AbortController()
 * const out = await worker.run(
 *   { pipeline: { task: "text2image", modelDir: "models/sdxl", enablePag: true, pagAppliedLayers: ["mid"] },
 *     call: { prompt: "a red circle", numInferenceSteps: 30, pagScale: 3, seed: 0 } },
 *   { signal: controller.signal, onProgress: (e) => console.log(`${e.step + 1}/${e.numSteps}`) },
 * )
 * await out.save("out.png")
 * await worker.close()
 */
export class PipelineWorker {
  #live: LiveWorker | undefined
  #nextId = 1
  #closed = false
  #closing: Promise<void> | undefined
  readonly #closeTimeoutMs: number
  readonly #pending = new Map<number, PendingRun>()

  constructor(options: PipelineWorkerOptions = {}) {
    const timeout = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS
    if (!(timeout >= 0) || !Number.isFinite(timeout)) {
      throw new InvalidOptionError(`closeTimeoutMs must be a finite number ≥ 0 (milliseconds), found ${String(timeout)}.`)
    }
    this.#closeTimeoutMs = timeout
  }

  /** Runs one call in the worker thread; calls made while another runs wait their turn. */
  run(request: WorkerRunRequest, options: WorkerRunOptions = {}): Promise<WorkerOutput> {
    if (this.#closed) return Promise.reject(new WorkerClosedError(`this PipelineWorker was closed; make a new one to run again.`))
    const passed = unserializableOptions.filter((name) => (request.call as Record<string, unknown>)[name] !== undefined)
    if (passed.length > 0) {
      return Promise.reject(
        new InvalidOptionError(
          `${passed.map((n) => `"${n}"`).join(", ")} cannot be sent to a worker thread. Pass { signal, onProgress } as run()'s second argument, and a seed instead of a generator.`,
        ),
      )
    }
    const { signal, onProgress } = options
    if (signal?.aborted === true) return Promise.reject(new AbortedError(0, request.call.numInferenceSteps ?? 50))
    const id = this.#nextId++
    let message: HostMessage
    try {
      message = { type: "run", id, pipeline: request.pipeline, call: callToWire(request.call) }
    } catch (error) {
      return Promise.reject(error)
    }
    const worker = this.#ensureWorker()
    return new Promise<WorkerOutput>((resolve, reject) => {
      const onAbort = (): void => this.#post({ type: "cancel", id })
      const settle = (): void => {
        signal?.removeEventListener("abort", onAbort)
        this.#pending.delete(id)
        if (this.#pending.size === 0 && !this.#closed) this.#live?.worker.unref()
      }
      this.#pending.set(id, {
        resolve: (output) => (settle(), resolve(output)),
        reject: (error) => (settle(), reject(error)),
        onProgress,
      })
      signal?.addEventListener("abort", onAbort, { once: true })
      worker.ref() // a run in flight keeps the process alive; an idle worker does not
      try {
        worker.postMessage(message)
      } catch (error) {
        this.#pending.get(id)?.reject(new InvalidOptionError(`the call options cannot be sent to a worker thread: ${(error as Error).message}. Pass plain data: strings, numbers, file paths, bytes, tensors.`, { cause: error }))
      }
    })
  }

  /**
   * Ends the worker thread and with it the loaded sessions. Runs still going reject with a `WorkerFailedError`
   * at once; the returned promise settles when the thread has ended. The thread is asked to end itself, which it
   * does between two native calls (after the current session creation or step), never in the middle of one:
   * `Worker.terminate()` inside an onnxruntime call aborts the process. Only when the thread has not ended after
   * `closeTimeoutMs` is it terminated from outside. Calling `close()` again returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#closed = true
    const live = this.#live
    this.#live = undefined
    this.#failAll(new WorkerFailedError(`the PipelineWorker was closed during the run.`))
    if (live === undefined) return
    live.worker.ref() // keep the process alive until the thread has ended: exiting the process would end it mid-call
    let timer: ReturnType<typeof setTimeout> | undefined
    const fallback = new Promise<void>((resolve) => {
      timer = setTimeout(() => void live.worker.terminate().then(() => resolve(), () => resolve()), this.#closeTimeoutMs)
    })
    try {
      live.control.postMessage({ type: "close" } satisfies CloseMessage)
    } catch {
      // The port is closed only when the thread has already ended.
    }
    await Promise.race([live.exited.then(() => undefined), fallback])
    clearTimeout(timer)
    live.control.close()
  }

  #post(message: HostMessage): void {
    this.#live?.worker.postMessage(message)
  }

  #ensureWorker(): Worker {
    if (this.#live !== undefined) return this.#live.worker
    const { worker, control } = spawnPipelineWorker()
    const exited = new Promise<number>((resolve) => worker.once("exit", resolve))
    worker.on("message", (message: WorkerMessage) => this.#onMessage(message))
    worker.on("error", (error) => {
      this.#failAll(new WorkerFailedError(`the pipeline worker thread crashed: ${error.message}`, { cause: error }))
    })
    worker.on("exit", (code) => {
      if (this.#live?.worker === worker) this.#live = undefined
      this.#failAll(new WorkerFailedError(`the pipeline worker thread exited (code ${code}) during the run. Run again; if it repeats, run in-thread to see the error.`))
    })
    this.#live = { worker, control, exited }
    return worker
  }

  #onMessage(message: WorkerMessage): void {
    const pending = this.#pending.get(message.id)
    if (pending === undefined) return
    if (message.type === "progress") {
      if (pending.callbackError !== undefined) return
      try {
        pending.onProgress?.({ step: message.step, numSteps: message.numSteps, timestep: message.timestep })
      } catch (error) {
        pending.callbackError = error instanceof Error ? error : new Error(String(error))
        this.#post({ type: "cancel", id: message.id })
      }
    } else if (pending.callbackError !== undefined) {
      pending.reject(pending.callbackError)
    } else if (message.type === "result") {
      pending.resolve(outputFromWire(message.result))
    } else {
      pending.reject(reviveError(message.error))
    }
  }

  #failAll(error: Error): void {
    for (const pending of [...this.#pending.values()]) pending.reject(error)
  }
}

/**
 * Runs one call in a fresh worker thread and ends the thread; use a {@link PipelineWorker} to keep the pipeline
 * loaded across runs.
 * @example
 * const out = await runInWorker({ pipeline: { task: "text2image", modelDir }, call: { prompt: "a cat", seed: 1 } }, { signal })
 */
export async function runInWorker(request: WorkerRunRequest, options: WorkerRunOptions = {}): Promise<WorkerOutput> {
  const worker = new PipelineWorker()
  try {
    return await worker.run(request, options)
  } finally {
    await worker.close()
  }
}
