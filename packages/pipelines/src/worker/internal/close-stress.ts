/**
 * Stress script for `PipelineWorker.close()` (issue 16, item 1), run by `worker-close.test.ts` in a child process
 * so that an abort (SIGABRT, exit 134) shows as that process's exit code instead of killing the test runner.
 *
 * `node --import tsx close-stress.ts <modelDirs> <runs> <concurrency> <minDelayMs> <maxDelayMs>`: each run starts a
 * worker loading one of `modelDirs` (comma-separated, taken in turn) and closes it after a random delay in [minDelayMs, maxDelayMs) (so the close lands at random moments
 * of thread start-up, tokenizer loading and onnxruntime session creation), or, when the folder fails to load,
 * right after the error arrives. Prints one JSON line of counts; exit code 0 when every run settled.
 */
import { PipelineWorker } from "../pipeline-worker.js"

const [modelDirs, runsArg = "50", concurrencyArg = "2", minDelayArg = "0", maxDelayArg = "1500"] = process.argv.slice(2)
if (modelDirs === undefined) throw new Error("usage: close-stress.ts <modelDirs> <runs> <concurrency> <minDelayMs> <maxDelayMs>")
const dirs = modelDirs.split(",")
const runs = Number(runsArg)
const concurrency = Number(concurrencyArg)
const minDelay = Number(minDelayArg)
const maxDelay = Number(maxDelayArg)

const outcomes: Record<string, number> = {}
let next = 0
async function lane(): Promise<void> {
  while (next < runs) {
    const modelDir = dirs[next % dirs.length]!
    next++
    const worker = new PipelineWorker()
    const run = worker
      .run({ pipeline: { task: "text2image", modelDir }, call: { prompt: "a red circle", height: 64, width: 64, numInferenceSteps: 2, seed: 0 } })
      .then(
        () => "result",
        (error: Error) => error.name,
      )
    const delay = minDelay + Math.random() * (maxDelay - minDelay)
    const first = await Promise.race([run, new Promise<string>((resolve) => setTimeout(() => resolve("timer"), delay))])
    await worker.close()
    const outcome = first === "timer" ? `closed:${await run}` : `settled:${first}`
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
  }
}
const started = Date.now()
await Promise.all(Array.from({ length: concurrency }, () => lane()))
console.log(JSON.stringify({ runs, ms: Date.now() - started, outcomes }))
