import type { JobInput, JobStatus } from "./job-schema.js"

/** Called with each new status of a watched job, ending with its final state. */
export type StatusListener = (status: JobStatus) => void

/**
 * Where jobs go: {@link LocalBackend} runs them in this process's pipeline worker; `QueueBackend` puts them on a
 * BullMQ queue for `studio-worker` processes. The HTTP API is the same over both.
 */
export interface JobBackend {
  /** Queues a job and returns its id. The same `idempotencyKey` returns the same id and queues nothing new. */
  submit(input: JobInput, options?: { readonly idempotencyKey?: string }): Promise<string>
  /** The job's status, or undefined for an unknown (or expired) id. */
  status(id: string): Promise<JobStatus | undefined>
  /** PNG bytes of a done job; undefined otherwise. */
  image(id: string): Promise<Uint8Array | undefined>
  /** Cancels a queued or running job (a running one stops after its current step). Undefined for an unknown id. */
  cancel(id: string): Promise<JobStatus | undefined>
  /** Calls `listener` on every status change of job `id`; returns the unsubscribe function. */
  watch(id: string, listener: StatusListener): () => void
  /** Stops taking jobs and frees resources. */
  close(): Promise<void>
}
