// Measures the studio: API latency and event-loop lag while a job runs (local mode, and for contrast the same
// run in-thread), and jobs/minute with 1 and 2 queue workers on the tiny model.
// Run: node --import tsx apps/studio/scripts/measure.ts   (needs redis-server; prints a Markdown table)
import { spawn } from "node:child_process"
import { cpus, loadavg } from "node:os"
import { monitorEventLoopDelay, performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { AutoPipelineForText2Image } from "@pagkit/pipelines"
import { tinyModelPath } from "@pagkit/tiny-models"
import { startStudio } from "../src/server/main.js"
import type { RunningStudio } from "../src/server/main.js"
import type { JobStatus } from "../src/server/job-schema.js"
import { ensureRedisServer, startRedis } from "../src/testing/redis-server.js"

const modelDir = tinyModelPath("tiny-sdxl-shapes")
const job = { task: "text2image", prompt: "a red circle on a white background", steps: 8, pagScale: 3 }

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN
}

async function post(studio: RunningStudio, body: unknown): Promise<string> {
  const r = await fetch(`${studio.url}/api/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
  return ((await r.json()) as { id: string }).id
}
async function status(studio: RunningStudio, id: string): Promise<JobStatus> {
  return (await (await fetch(`${studio.url}/api/jobs/${id}`)).json()) as JobStatus
}
async function waitDone(studio: RunningStudio, ids: string[]): Promise<void> {
  for (;;) {
    const states = await Promise.all(ids.map(async (id) => (await status(studio, id)).state))
    if (states.some((s) => s === "failed" || s === "cancelled")) throw new Error(`a job did not finish: ${states.join(", ")}`)
    if (states.every((s) => s === "done")) return
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** GET latencies (ms) and event-loop delay while `during` runs. */
async function sample(studio: RunningStudio, during: () => Promise<unknown>): Promise<{ p50: number; p99: number; max: number; lagP99: number; lagMax: number; n: number }> {
  const latencies: number[] = []
  const histogram = monitorEventLoopDelay({ resolution: 5 })
  histogram.enable()
  let running = true
  const sampler = (async () => {
    while (running) {
      const t = performance.now()
      await fetch(`${studio.url}/api/model`).then((r) => r.arrayBuffer())
      latencies.push(performance.now() - t)
      await new Promise((r) => setTimeout(r, 10))
    }
  })()
  await during()
  running = false
  await sampler
  histogram.disable()
  return { p50: pct(latencies, 50), p99: pct(latencies, 99), max: Math.max(...latencies), lagP99: histogram.percentile(99) / 1e6, lagMax: histogram.max / 1e6, n: latencies.length }
}

const rows: string[] = []
const fmt = (n: number) => n.toFixed(1)

// 1. Latency while a job runs.
{
  const studio = await startStudio({ modelDir, port: 0, host: "127.0.0.1", redis: undefined })
  await waitDone(studio, [await post(studio, { ...job, seed: 0 })]) // loads the model in the worker thread
  const idle = await sample(studio, () => new Promise((r) => setTimeout(r, 3000)))
  const worker = await sample(studio, async () => waitDone(studio, [await post(studio, { ...job, steps: 40, seed: 1 })]))
  const pipe = await AutoPipelineForText2Image.fromPretrained(modelDir, { enablePag: true, pagAppliedLayers: ["mid"] })
  const inThread = await sample(studio, () => pipe.run({ prompt: job.prompt, numInferenceSteps: 40, pagScale: 3, seed: 1, width: 64, height: 64 }))
  await pipe.model.release()
  await studio.close()
  rows.push("| scenario | GET /api/model p50 | p99 | max | event-loop delay p99 | max | samples |", "|---|---|---|---|---|---|---|")
  for (const [name, s] of [["idle", idle], ["40-step job in the studio's pipeline worker", worker], ["same run in the server's thread (what the worker avoids)", inThread]] as const) {
    rows.push(`| ${name} | ${fmt(s.p50)} ms | ${fmt(s.p99)} ms | ${fmt(s.max)} ms | ${fmt(s.lagP99)} ms | ${fmt(s.lagMax)} ms | ${s.n} |`)
  }
}

// 2. Jobs per minute with 1 and 2 queue workers.
const redisBinary = ensureRedisServer()
if (!redisBinary.ok) throw new Error(redisBinary.reason)
const workerMain = fileURLToPath(new URL("../src/worker/main.ts", import.meta.url))
rows.push("", "| round | queue workers | jobs | wall time | jobs/minute |", "|---|---|---|---|---|")
// ABBA order (1, 2, 2, 1): drifts in the machine's load hit both counts alike.
const order = [1, 2, 2, 1]
const perMinute = new Map<number, number[]>()
for (const [round, count] of order.entries()) {
  const redis = await startRedis(redisBinary.path)
  const studio = await startStudio({ modelDir, port: 0, host: "127.0.0.1", redis: redis.url })
  const workers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof spawn>>((resolve) => {
      const child = spawn(process.execPath, ["--import", "tsx", workerMain, "--redis", redis.url, "--model", modelDir], { stdio: ["ignore", "pipe", "ignore"] })
      child.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve(child))
    })),
  )
  // One warm-up job per worker: each idle worker takes one and loads the model.
  await waitDone(studio, await Promise.all(workers.map((_, i) => post(studio, { ...job, seed: 100 + i }))))
  const n = 10
  const started = performance.now()
  await waitDone(studio, await Promise.all(Array.from({ length: n }, (_, i) => post(studio, { ...job, seed: i }))))
  const seconds = (performance.now() - started) / 1000
  const rate = (n / seconds) * 60
  perMinute.set(count, [...(perMinute.get(count) ?? []), rate])
  rows.push(`| ${round + 1} | ${count} | ${n} × ${job.steps} steps, 64×64, CFG + PAG | ${seconds.toFixed(1)} s | ${rate.toFixed(1)} |`)
  await Promise.all(workers.map((w) => new Promise((r) => (w.once("exit", r), w.kill("SIGTERM")))))
  await studio.close()
  await redis.stop()
}

for (const [count, rates] of perMinute) rows.push(`| mean | ${count} | | | **${(rates.reduce((a, b) => a + b, 0) / rates.length).toFixed(1)}** |`)
console.log(`Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(" / ")} at the end (shared machine)\n`)
console.log(rows.join("\n"))
