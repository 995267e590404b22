import { hostname } from "node:os"
import { UnrecoverableError, Worker } from "bullmq"
import type { Job } from "bullmq"
import { Redis } from "ioredis"
import { errorBody } from "../server/errors.js"
import type { JobInput } from "../server/job-schema.js"
import { CANCEL_CHANNEL, KEY_PREFIX, QUEUE_NAME, RESULT_TTL_SECONDS, cancelledKey, encodeFailure, resultKey } from "../server/queue-protocol.js"
import type { QueueProgress, QueueResult } from "../server/queue-protocol.js"
import type { StudioRunner } from "../server/runner.js"

/** Options of {@link startQueueWorker}. */
export interface QueueWorkerOptions {
  readonly redis: string
  /** One runner per concurrent job (each a pipeline worker thread with the model loaded). */
  readonly runners: readonly StudioRunner[]
  /** Lock duration in ms; a worker that has not renewed its lock for this long is stalled (its job is handed on). */
  readonly lockMs: number
  /** Log lines (default: none). */
  readonly log?: (line: string) => void
}

/** A running queue worker. */
export interface QueueWorker {
  /** Graceful: takes no new job, lets the running ones finish, then frees the runners. */
  close(): Promise<void>
}

/**
 * Takes jobs from the studio's BullMQ queue and runs them in pipeline worker threads. The event loop stays free
 * during a run, so BullMQ keeps renewing the job's lock; a worker that dies (SIGKILL) stops renewing, and after
 * `lockMs` another worker's stall check puts the job back in the queue. The PNG is written with `SET … NX`, so the
 * result of a job is written once however many times it ran, and BullMQ completes a job only under its lock token.
 * @example
 * const worker = await startQueueWorker({ redis, runners: [createRunner({ modelDir, family })], lockMs: 30_000 })
 * process.on("SIGTERM", () => void worker.close())
 */
export async function startQueueWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  const { runners, lockMs } = options
  const log = options.log ?? (() => {})
  const me = `${process.pid}@${hostname()}`
  const redis = new Redis(options.redis, { maxRetriesPerRequest: null })
  const subscriber = new Redis(options.redis, { maxRetriesPerRequest: null })
  const free = [...runners]

  async function processJob(job: Job<JobInput, QueueResult>, _token: string | undefined, signal: AbortSignal | undefined): Promise<QueueResult> {
    const id = job.id!
    if ((await redis.exists(cancelledKey(id))) === 1) throw new UnrecoverableError(encodeFailure("CANCELLED", "the job was cancelled before it ran."))
    const runner = free.pop()
    if (runner === undefined) throw new Error("no free pipeline runner: concurrency exceeds the runners made for it (a bug).")
    log(`job ${id}: running (attempt ${job.attemptsStarted}, ${job.data.steps} steps, seed ${job.data.seed})`)
    try {
      const png = await runner.run(job.data, {
        ...(signal === undefined ? {} : { signal }),
        onProgress: ({ step, steps }) => {
          const progress: QueueProgress = { step, steps, worker: me }
          void job.updateProgress(progress).catch(() => {})
        },
      })
      // Exactly one write per job id: a second run of the same job (after a stall) finds the key and leaves it.
      const wrote = (await redis.set(resultKey(id), Buffer.from(png), "EX", RESULT_TTL_SECONDS, "NX")) === "OK"
      log(`job ${id}: done (${png.length} bytes${wrote ? "" : ", result already written by an earlier attempt"})`)
      return { bytes: png.length, wrote, worker: me }
    } catch (error) {
      const body = errorBody(error)
      const cancelled = body.code === "ABORTED" || signal?.aborted === true
      log(`job ${id}: ${cancelled ? "cancelled" : `failed: ${body.code}: ${body.message}`}`)
      // Deterministic failures are not retried; a crashed worker's job comes back through stall recovery instead.
      throw new UnrecoverableError(cancelled ? encodeFailure("CANCELLED", "the job was cancelled.") : encodeFailure(body.code, body.message))
    } finally {
      free.push(runner)
    }
  }

  const worker = new Worker<JobInput, QueueResult>(QUEUE_NAME, processJob, {
    connection: { url: options.redis, maxRetriesPerRequest: null },
    prefix: KEY_PREFIX,
    concurrency: runners.length,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    maxStalledCount: 2,
  })
  worker.on("error", (error) => log(`worker error: ${error.message}`))
  await subscriber.subscribe(CANCEL_CHANNEL)
  subscriber.on("message", (_channel: string, id: string) => {
    if (worker.cancelJob(id, "cancelled through the API")) log(`job ${id}: cancel requested`)
  })
  await worker.waitUntilReady()
  log(`studio-worker ${me}: serving queue "${QUEUE_NAME}" with concurrency ${runners.length}`)

  return {
    async close() {
      await worker.close() // waits for running jobs to finish
      subscriber.disconnect()
      redis.disconnect()
      await Promise.all(runners.map((r) => r.close()))
    },
  }
}
