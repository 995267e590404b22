/**
 * The pipeline worker thread's first module. It listens on the control port `PipelineWorker` passes in
 * `workerData` and, on `{ type: "close" }`, ends the thread with `process.exit()` from JavaScript, which is to say
 * between two native calls: onnxruntime-node creates sessions and runs them synchronously on this thread, so a
 * message handler can only run when no native call is in progress. Ending the thread from outside
 * (`Worker.terminate()`) can land inside such a call, and onnxruntime then aborts the whole process (SIGABRT,
 * "terminate called after throwing an instance of 'Napi::Error'"). It then loads `worker-entry`, which serves runs.
 * @module
 */
import { isMainThread, workerData } from "node:worker_threads"
import type { MessagePort } from "node:worker_threads"
import { CONTROL_PORT_KEY, isCloseMessage } from "./worker-control.js"

const control = isMainThread ? undefined : ((workerData as Record<string, unknown> | null)?.[CONTROL_PORT_KEY] as MessagePort | undefined)
if (control !== undefined) {
  control.on("message", (message: unknown) => {
    if (isCloseMessage(message)) process.exit(0)
  })
  control.unref() // the control port alone does not keep the thread alive
}
await import("./worker-entry.js")
