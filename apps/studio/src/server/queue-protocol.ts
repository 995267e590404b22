// What the API nodes and studio-worker processes agree on: queue name, Redis keys, how errors are stored.
import type { JobStatus } from "./job-schema.js"

/** The BullMQ queue every API node adds to and every studio-worker takes from. */
export const QUEUE_NAME = "pagkit-studio"

/** BullMQ's key prefix (its default); the studio's own keys live under it too. */
export const KEY_PREFIX = "bull"

/** Redis key of a done job's PNG (written once, `SET … NX`, by the worker that finished it). */
export function resultKey(id: string): string {
  return `${KEY_PREFIX}:${QUEUE_NAME}:studio-result:${id}`
}

/** Redis key marking a job cancelled (checked by a worker before it runs the job, e.g. after a stall). */
export function cancelledKey(id: string): string {
  return `${KEY_PREFIX}:${QUEUE_NAME}:studio-cancelled:${id}`
}

/** Pub/sub channel on which API nodes ask workers to stop a running job (message: the job id). */
export const CANCEL_CHANNEL = `${KEY_PREFIX}:${QUEUE_NAME}:studio-cancel`

/** How long results, cancel marks and finished jobs are kept. */
export const RESULT_TTL_SECONDS = 24 * 60 * 60

/** What a completed job returns (stored by BullMQ; the PNG itself is under {@link resultKey}). */
export interface QueueResult {
  readonly bytes: number
  /** Whether this attempt wrote the PNG (false when an earlier attempt had already written it). */
  readonly wrote: boolean
  /** pid and host of the worker that finished the job. */
  readonly worker: string
}

/** `job.updateProgress` payload. */
export interface QueueProgress {
  readonly step: number
  readonly steps: number
  /** pid and host of the worker running the job. */
  readonly worker: string
}

/** A failure as stored in BullMQ's `failedReason`: `CODE: message`. */
export function encodeFailure(code: string, message: string): string {
  return `${code}: ${message}`
}

/** The code and message of a `failedReason`: `WORKER_LOST` for BullMQ's stall limit, `INTERNAL` for other uncoded reasons. */
export function decodeFailure(reason: string | undefined): NonNullable<JobStatus["error"]> {
  if (reason?.includes("stalled more than allowable limit") === true) {
    return { code: "WORKER_LOST", message: `the workers running this job stopped (crash, kill or lost Redis connection) more than twice (${reason}). Check the studio-worker logs, then submit the job again.` }
  }
  const match = /^([A-Z][A-Z0-9_]+): ([\s\S]*)$/.exec(reason ?? "")
  return match === null ? { code: "INTERNAL", message: reason ?? "the job failed without a reason." } : { code: match[1]!, message: match[2]! }
}
