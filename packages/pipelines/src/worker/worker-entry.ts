/**
 * The pipeline worker thread's entry. It serves only when started by `PipelineWorker` (flag in `workerData`);
 * imported anywhere else it does nothing.
 * @module
 */
import { isMainThread, parentPort, workerData } from "node:worker_threads"
import type { MessagePort } from "node:worker_threads"
import { AbortedError } from "../errors.js"
import type { PipelineOutput } from "../output.js"
import { PipelineCache } from "./pipeline-cache.js"
import { pluginLoader } from "./plugins.js"
import { WORKER_FLAG, callFromWire, prepareTransfer } from "./protocol.js"
import type { HostMessage, WireResult, WireTensor, WorkerMessage } from "./protocol.js"
import { serializeError } from "./remote-error.js"

/** Lets queued messages (a cancel) in: the UNet may hold this thread for a whole step. */
function yieldToMessages(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** Handles run and cancel messages on `port`, one run at a time, keeping the loaded pipeline between runs. */
export function serveWorker(port: MessagePort | NonNullable<typeof parentPort>): void {
  const cache = new PipelineCache(pluginLoader())
  const controllers = new Map<number, AbortController>()
  let queue: Promise<void> = Promise.resolve()
  const post = (message: WorkerMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer)

  async function run(message: Extract<HostMessage, { type: "run" }>, controller: AbortController): Promise<void> {
    const { id } = message
    try {
      if (controller.signal.aborted) throw abortedBeforeStart(message.call)
      const loadStart = performance.now()
      const loadsBefore = cache.loads
      const pipe = await cache.get(message.pipeline)
      const runStart = performance.now()
      const loadMs = cache.loads === loadsBefore ? 0 : runStart - loadStart
      const call = {
        ...callFromWire(message.call),
        signal: controller.signal,
        onStep: async (event: { step: number; numSteps: number; timestep: number }) => {
          post({ type: "progress", id, step: event.step, numSteps: event.numSteps, timestep: event.timestep })
          await yieldToMessages()
        },
      }
      const output: PipelineOutput = await (pipe.run as (options: typeof call) => Promise<PipelineOutput>)(call)
      const timings = { loadMs, runMs: performance.now() - runStart }
      const { wires, transfer } = prepareTransfer([output.images, output.latents])
      const result: WireResult = { className: pipe.className, timings, images: wires[0], latents: wires[1] as WireTensor, seed: output.seed, warnings: [...output.warnings] }
      post({ type: "result", id, result }, transfer)
    } catch (error) {
      post({ type: "error", id, error: serializeError(error) })
    } finally {
      controllers.delete(id)
    }
  }

  port.on("message", (message: HostMessage) => {
    if (message.type === "cancel") {
      controllers.get(message.id)?.abort()
      return
    }
    const controller = new AbortController() // registered now, so a cancel right behind the run finds it
    controllers.set(message.id, controller)
    queue = queue.then(() => run(message, controller))
  })
}

function abortedBeforeStart(call: Record<string, unknown>): AbortedError {
  return new AbortedError(0, typeof call["numInferenceSteps"] === "number" ? call["numInferenceSteps"] : 50)
}

if (!isMainThread && parentPort !== null && (workerData as Record<string, unknown> | null)?.[WORKER_FLAG] === true) {
  serveWorker(parentPort)
}
