import { createHash } from "node:crypto"
import { randomUUID } from "node:crypto"
import { Job, Queue, QueueEvents } from "bullmq"
import { Redis } from "ioredis"
import type { JobBackend, StatusListener } from "./backend.js"
import type { JobInput, JobStatus } from "./job-schema.js"
import { CANCEL_CHANNEL, KEY_PREFIX, QUEUE_NAME, RESULT_TTL_SECONDS, cancelledKey, decodeFailure, resultKey } from "./queue-protocol.js"
import type { QueueProgress, QueueResult } from "./queue-protocol.js"

type StudioJob = Job<JobInput, QueueResult>

/**
 * Puts jobs on a BullMQ queue in Redis for `studio-worker` processes and reads their state, progress (BullMQ
 * progress events through `QueueEvents`) and results (PNG under a Redis key) back. Any number of API nodes can
 * share one queue: everything lives in Redis.
 * @example
 * const backend = await QueueBackend.connect("redis://127.0.0.1:6379")
 * createApp({ backend, model })
 */
export class QueueBackend implements JobBackend {
  readonly #queue: Queue<JobInput, QueueResult>
  readonly #events: QueueEvents
  readonly #redis: Redis
  readonly #listeners = new Map<string, Set<StatusListener>>()
  /** Per-job chain, so statuses reach listeners in event order. */
  readonly #chains = new Map<string, Promise<void>>()

  private constructor(queue: Queue<JobInput, QueueResult>, events: QueueEvents, redis: Redis) {
    this.#queue = queue
    this.#events = events
    this.#redis = redis
    events.on("progress", ({ jobId, data }) => {
      const p = data as Partial<QueueProgress>
      if (typeof p.step === "number" && typeof p.steps === "number") this.#emit(jobId, async () => ({ id: jobId, state: "running", step: p.step!, steps: p.steps! }))
    })
    for (const event of ["active", "waiting", "completed", "failed", "removed"] as const) {
      events.on(event, ({ jobId }: { jobId: string }) => this.#emit(jobId, () => this.status(jobId)))
    }
  }

  /** Connects to Redis and waits until the queue and its event stream are ready. */
  static async connect(url: string): Promise<QueueBackend> {
    const connection = { url, maxRetriesPerRequest: null }
    const queue = new Queue<JobInput, QueueResult>(QUEUE_NAME, { connection, prefix: KEY_PREFIX })
    const events = new QueueEvents(QUEUE_NAME, { connection, prefix: KEY_PREFIX })
    const redis = new Redis(url, { maxRetriesPerRequest: null })
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()])
    return new QueueBackend(queue, events, redis)
  }

  async submit(input: JobInput, options: { readonly idempotencyKey?: string } = {}): Promise<string> {
    // An Idempotency-Key gives a stable job id: BullMQ ignores an add whose id exists, so a retried POST queues nothing new.
    const key = options.idempotencyKey
    const jobId = key === undefined ? randomUUID() : `k-${createHash("sha256").update(key).digest("hex").slice(0, 32)}`
    await this.#queue.add("generate", input, {
      jobId,
      attempts: 1, // pipeline errors are deterministic; a crashed worker's job comes back through stall recovery
      removeOnComplete: { age: RESULT_TTL_SECONDS },
      removeOnFail: { age: RESULT_TTL_SECONDS },
    })
    return jobId
  }

  async status(id: string): Promise<JobStatus | undefined> {
    const job = (await Job.fromId(this.#queue, id)) as StudioJob | undefined
    if (job === undefined) {
      const cancelled = await this.#redis.get(cancelledKey(id))
      return cancelled === null ? undefined : { id, state: "cancelled", step: 0, steps: Number(cancelled) }
    }
    const state = await job.getState()
    const progress = (typeof job.progress === "object" ? job.progress : {}) as Partial<QueueProgress>
    const steps = progress.steps ?? job.data.steps
    const step = progress.step ?? 0
    switch (state) {
      case "active":
        return { id, state: "running", step, steps }
      case "completed":
        return { id, state: "done", step: steps, steps }
      case "failed": {
        const error = decodeFailure(job.failedReason)
        return error.code === "CANCELLED" ? { id, state: "cancelled", step, steps } : { id, state: "failed", step, steps, error }
      }
      default:
        return { id, state: "queued", step: 0, steps: job.data.steps }
    }
  }

  async image(id: string): Promise<Uint8Array | undefined> {
    const png = await this.#redis.getBuffer(resultKey(id))
    return png === null ? undefined : new Uint8Array(png)
  }

  async cancel(id: string): Promise<JobStatus | undefined> {
    const job = (await Job.fromId(this.#queue, id)) as StudioJob | undefined
    if (job === undefined) return this.status(id)
    // Mark first: a worker checks the mark before running, so a job taken right now is still cancelled.
    await this.#redis.set(cancelledKey(id), String(job.data.steps), "EX", RESULT_TTL_SECONDS)
    const state = await job.getState()
    if (state === "waiting" || state === "delayed" || state === "prioritized") {
      try {
        await job.remove()
      } catch {
        // taken by a worker meanwhile (locked): it sees the mark, or the message below
      }
    }
    await this.#redis.publish(CANCEL_CHANNEL, id)
    return this.status(id)
  }

  watch(id: string, listener: StatusListener): () => void {
    let set = this.#listeners.get(id)
    if (set === undefined) this.#listeners.set(id, (set = new Set()))
    set.add(listener)
    return () => {
      set.delete(listener)
      if (set.size === 0) this.#listeners.delete(id)
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.#events.close(), this.#queue.close()])
    this.#redis.disconnect()
  }

  #emit(id: string, read: () => Promise<JobStatus | undefined>): void {
    if (!this.#listeners.has(id)) return
    const previous = this.#chains.get(id) ?? Promise.resolve()
    const next = previous.then(async () => {
      const status = await read().catch(() => undefined)
      if (status === undefined) return
      for (const listener of [...(this.#listeners.get(id) ?? [])]) listener(status)
    })
    this.#chains.set(id, next)
    void next.then(() => {
      if (this.#chains.get(id) === next) this.#chains.delete(id)
    })
  }
}
