import { randomUUID } from "node:crypto"
import { errorBody } from "./errors.js"
import type { JobBackend, StatusListener } from "./backend.js"
import type { JobInput, JobStatus } from "./job-schema.js"
import { isFinal } from "./job-schema.js"
import type { StudioRunner } from "./runner.js"

interface LocalJob {
  status: JobStatus
  readonly input: JobInput
  readonly controller: AbortController
  readonly idempotencyKey: string | undefined
  png?: Uint8Array
}

/** Finished jobs kept for `GET` (oldest finished jobs are forgotten first). */
const KEEP_FINISHED = 500

/**
 * Runs jobs in this process, one at a time in submission order, in a {@link StudioRunner} (a pipeline worker
 * thread, so the HTTP server's event loop stays free). Jobs live in memory; several tabs can queue.
 * @example
 * const backend = new LocalBackend(createRunner({ modelDir, family: "sdxl" }))
 * const id = await backend.submit(job)
 */
export class LocalBackend implements JobBackend {
  readonly #runner: StudioRunner
  readonly #jobs = new Map<string, LocalJob>()
  readonly #queue: string[] = []
  readonly #listeners = new Map<string, Set<StatusListener>>()
  readonly #idempotency = new Map<string, string>()
  #running: string | undefined
  #closed = false

  constructor(runner: StudioRunner) {
    this.#runner = runner
  }

  async submit(input: JobInput, options: { readonly idempotencyKey?: string } = {}): Promise<string> {
    const key = options.idempotencyKey
    const known = key === undefined ? undefined : this.#idempotency.get(key)
    if (known !== undefined && this.#jobs.has(known)) return known
    const id = randomUUID()
    if (key !== undefined) this.#idempotency.set(key, id)
    this.#jobs.set(id, { status: { id, state: "queued", step: 0, steps: input.steps }, input, controller: new AbortController(), idempotencyKey: key })
    this.#queue.push(id)
    this.#forgetOld()
    queueMicrotask(() => this.#pump())
    return id
  }

  async status(id: string): Promise<JobStatus | undefined> {
    return this.#jobs.get(id)?.status
  }

  async image(id: string): Promise<Uint8Array | undefined> {
    return this.#jobs.get(id)?.png
  }

  async cancel(id: string): Promise<JobStatus | undefined> {
    const job = this.#jobs.get(id)
    if (job === undefined) return undefined
    if (job.status.state === "queued") {
      this.#queue.splice(this.#queue.indexOf(id), 1)
      this.#update(job, { state: "cancelled" })
    } else if (job.status.state === "running") {
      job.controller.abort() // the worker stops after the current step; #pump marks it cancelled
    }
    return job.status
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
    this.#closed = true
    for (const id of this.#queue.splice(0)) {
      const job = this.#jobs.get(id)
      if (job !== undefined) this.#update(job, { state: "cancelled", error: { code: "SHUTDOWN", message: "the studio server shut down before this job ran; submit it again." } })
    }
    this.#jobs.get(this.#running ?? "")?.controller.abort()
    await this.#runner.close()
  }

  #update(job: LocalJob, change: Partial<Omit<JobStatus, "id">>): void {
    job.status = { ...job.status, ...change }
    for (const listener of [...(this.#listeners.get(job.status.id) ?? [])]) listener(job.status)
  }

  #pump(): void {
    if (this.#running !== undefined || this.#closed) return
    const id = this.#queue.shift()
    const job = id === undefined ? undefined : this.#jobs.get(id)
    if (id === undefined || job === undefined) return
    this.#running = id
    this.#update(job, { state: "running" })
    this.#runner
      .run(job.input, { signal: job.controller.signal, onProgress: ({ step, steps }) => this.#update(job, { step, steps }) })
      .then(
        (png) => {
          job.png = png
          this.#update(job, { state: "done" })
        },
        (error: unknown) => {
          if (job.controller.signal.aborted) this.#update(job, { state: "cancelled" })
          else this.#update(job, { state: "failed", error: errorBody(error) })
        },
      )
      .finally(() => {
        this.#running = undefined
        this.#pump()
      })
  }

  #forgetOld(): void {
    if (this.#jobs.size <= KEEP_FINISHED) return
    for (const [id, job] of this.#jobs) {
      if (this.#jobs.size <= KEEP_FINISHED) break
      if (!isFinal(job.status.state)) continue
      this.#jobs.delete(id)
      if (job.idempotencyKey !== undefined) this.#idempotency.delete(job.idempotencyKey)
    }
  }
}
