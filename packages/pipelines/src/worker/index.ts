/**
 * Pipeline runs in a worker thread: progress events, cancellation between steps, transferred results.
 * @module
 */
export { PipelineWorker, WorkerOutput, runInWorker } from "./pipeline-worker.js"
export type { PipelineWorkerOptions, WorkerRunOptions } from "./pipeline-worker.js"
export { unserializableOptions } from "./protocol.js"
export type {
  UnserializableOption,
  WorkerCallOptions,
  WorkerPipelineSpec,
  WorkerProgressEvent,
  WorkerRunRequest,
  WorkerTimings,
} from "./protocol.js"
export { RemoteError, WorkerClosedError, WorkerFailedError } from "./remote-error.js"
export type { WireError } from "./remote-error.js"
export { pagkitErrorClasses } from "./error-classes.js"
