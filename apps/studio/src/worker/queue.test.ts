// Queue mode end to end: a real redis-server, two studio-worker processes, the API; one worker SIGKILLed mid-job.
import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Job, Queue, QueueEvents } from "bullmq"
import { AutoPipelineForText2Image } from "@pagkit/pipelines"
import { tinyModelPath } from "@pagkit/tiny-models"
import { startStudio } from "../server/main.js"
import type { RunningStudio } from "../server/main.js"
import type { JobStatus } from "../server/job-schema.js"
import { KEY_PREFIX, QUEUE_NAME } from "../server/queue-protocol.js"
import type { QueueProgress, QueueResult } from "../server/queue-protocol.js"
import { ensureRedisServer, startRedis } from "../testing/redis-server.js"
import type { TestRedis } from "../testing/redis-server.js"

const redisBinary = ensureRedisServer() // installs Debian's redis-server when missing (root, as in CI)
if (!redisBinary.ok) console.warn(`\n\n!!!!! studio queue test SKIPPED: ${redisBinary.reason} !!!!!\n\n`)

const modelDir = tinyModelPath("tiny-sdxl-shapes")
const workerMain = fileURLToPath(new URL("./main.ts", import.meta.url))
const STEPS = 5
const SEEDS = [11, 12, 13, 14]

interface WorkerProcess {
  readonly child: ChildProcess
  readonly pid: number
  readonly exited: Promise<number | null>
  log: string
}

function startWorker(redis: string): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", workerMain, "--redis", redis, "--model", modelDir, "--lock-ms", "2000"], { stdio: ["ignore", "pipe", "pipe"] })
  const worker: WorkerProcess = { child, pid: child.pid!, exited: new Promise((r) => child.once("exit", (code) => r(code))), log: "" }
  child.stderr!.on("data", (d: Buffer) => (worker.log += d.toString()))
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve(worker))
    child.once("exit", (code) => reject(new Error(`studio-worker exited (${code}) before it was ready:\n${worker.log}`)))
  })
}

describe.skipIf(!redisBinary.ok)("queue mode: BullMQ on a real redis-server, two workers", () => {
  let redis: TestRedis
  let studio: RunningStudio
  let workers: WorkerProcess[] = []
  let events: QueueEvents
  let queue: Queue
  const completed = new Map<string, number>()
  let onStep2: { worker: WorkerProcess; job: string } | undefined // the worker killed mid-job, and its job

  beforeAll(async () => {
    redis = await startRedis(redisBinary.ok ? redisBinary.path : undefined)
    const connection = { url: redis.url, maxRetriesPerRequest: null }
    events = new QueueEvents(QUEUE_NAME, { connection, prefix: KEY_PREFIX })
    queue = new Queue(QUEUE_NAME, { connection, prefix: KEY_PREFIX })
    await events.waitUntilReady()
    events.on("completed", ({ jobId }) => completed.set(jobId, (completed.get(jobId) ?? 0) + 1))
    events.on("progress", ({ jobId, data }) => {
      const { step, steps, worker: who } = data as QueueProgress
      const worker = workers.find((w) => who.startsWith(`${w.pid}@`))
      if (onStep2 !== undefined || worker === undefined || step < 2 || step >= steps) return
      worker.child.kill("SIGKILL")
      onStep2 = { worker, job: jobId }
    })
    workers = await Promise.all([startWorker(redis.url), startWorker(redis.url)])
    studio = await startStudio({ modelDir, port: 0, host: "127.0.0.1", redis: redis.url })
  })

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL")
    await Promise.all(workers.map((w) => w.exited))
    await studio?.close()
    await events?.close()
    await queue?.close()
    await redis?.stop()
  })

  const post = async (body: unknown): Promise<string> => {
    const response = await fetch(`${studio.url}/api/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
    expect(response.status).toBe(202)
    return ((await response.json()) as { id: string }).id
  }
  const status = async (id: string): Promise<JobStatus> => (await (await fetch(`${studio.url}/api/jobs/${id}`)).json()) as JobStatus
  const until = async (check: () => Promise<boolean>, what: string, ms = 120_000): Promise<void> => {
    const end = Date.now() + ms
    while (!(await check())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}. Worker logs:\n${workers.map((w) => w.log).join("\n")}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  it("a SIGKILLed worker loses no job: each completes exactly once, with the image of a direct pipeline run", async () => {
    const request = (seed: number) => ({ task: "text2image", prompt: "a red circle on a white background", seed, steps: STEPS, pagScale: 3 })
    const ids = await Promise.all(SEEDS.map((seed) => post(request(seed))))
    // Kill whichever worker is the first to report step 2 of a job, as soon as its progress event arrives.
    await until(async () => onStep2 !== undefined, "a job at step 2")
    const victim = onStep2!
    expect(await victim.worker.exited).toBeNull() // killed, not exited

    await until(async () => (await Promise.all(ids.map(status))).every((s) => s.state === "done" || s.state === "failed"), "every job to finish", 180_000)
    const finals = await Promise.all(ids.map(status))
    expect(finals.map((s) => s.state)).toEqual(ids.map(() => "done"))
    expect(finals.every((s) => s.step === STEPS && s.steps === STEPS)).toBe(true)
    await new Promise((r) => setTimeout(r, 300)) // the last completed events
    expect(ids.map((id) => completed.get(id))).toEqual(ids.map(() => 1))

    // The killed job was handed to the surviving worker by stall recovery.
    const handed = (await Job.fromId(queue, victim.job)) as Job<unknown, QueueResult>
    expect(handed.attemptsStarted + handed.stalledCounter).toBeGreaterThanOrEqual(2)
    expect(handed.returnvalue.worker.startsWith(`${victim.worker.pid}@`)).toBe(false)
    expect(handed.returnvalue.wrote).toBe(true) // the killed attempt wrote nothing

    // Same bytes as a direct (in-thread) pipeline run of the same request.
    const pipe = await AutoPipelineForText2Image.fromPretrained(modelDir, { enablePag: true, pagAppliedLayers: ["mid"] })
    for (const [i, id] of ids.entries()) {
      const served = new Uint8Array(await (await fetch(`${studio.url}/api/jobs/${id}/image`)).arrayBuffer())
      const direct = await pipe.run({ prompt: "a red circle on a white background", seed: SEEDS[i]!, numInferenceSteps: STEPS, guidanceScale: 5, pagScale: 3, width: 64, height: 64 })
      const [png] = await direct.png()
      expect(Buffer.from(served).equals(Buffer.from(png!)), `job ${id} (seed ${SEEDS[i]})`).toBe(true)
    }
    await pipe.model.release()
  })

  it("cancels a running job after its current step and a queued one at once, leaving no image", async () => {
    const running = await post({ task: "text2image", prompt: "a purple ring on a gray background", seed: 1, steps: 150 })
    const queued = await post({ task: "text2image", prompt: "a purple ring on a gray background", seed: 2, steps: 4 })
    await until(async () => (await status(running)).step >= 1, "the long job to start")
    for (const id of [queued, running]) expect((await fetch(`${studio.url}/api/jobs/${id}`, { method: "DELETE" })).status).toBe(200)
    await until(async () => (await status(running)).state !== "running", "the running job to stop", 30_000)
    const stopped = await status(running)
    expect(stopped.state).toBe("cancelled")
    expect(stopped.step).toBeLessThan(150)
    expect((await status(queued)).state).toBe("cancelled")
    for (const id of [queued, running]) expect((await fetch(`${studio.url}/api/jobs/${id}/image`)).status).toBe(409)
  })

  it("SIGTERM lets the running job finish, then the worker exits 0", async () => {
    const survivor = workers.find((w) => w.child.exitCode === null && w.child.signalCode === null)!
    const id = await post({ task: "text2image", prompt: "a big blue square on a yellow background", seed: 5, steps: 8 })
    await until(async () => (await status(id)).step >= 1, "the job to start")
    survivor.child.kill("SIGTERM")
    expect(await survivor.exited).toBe(0)
    expect(await status(id)).toEqual({ id, state: "done", step: 8, steps: 8 })
    expect(survivor.log).toMatch(/SIGTERM: finishing/)
  })
})
