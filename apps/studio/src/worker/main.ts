// `pnpm studio-worker --redis URL [--model DIR] [--concurrency 1] [--lock-ms 30000]`: runs studio jobs from the queue.
import { parseWorkerArgs } from "../server/args.js"
import { loadModelInfo } from "../server/model-info.js"
import { createRunner } from "../server/runner.js"
import { startQueueWorker } from "./queue-worker.js"

async function main(): Promise<void> {
  const args = parseWorkerArgs(process.argv.slice(2))
  const { info, modelDir } = await loadModelInfo(args.modelDir)
  const runners = Array.from({ length: args.concurrency }, () => createRunner({ modelDir, family: info.family }))
  const log = (line: string): void => void process.stderr.write(`[studio-worker ${process.pid}] ${line}\n`)
  const worker = await startQueueWorker({ redis: args.redis, runners, lockMs: args.lockMs, log })
  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    log(`${signal}: finishing the running job(s), taking no new ones…`)
    worker.close().then(
      () => (log("stopped"), process.exit(0)),
      (error: Error) => (log(`shutdown failed: ${error.message}`), process.exit(1)),
    )
  }
  process.on("SIGTERM", () => stop("SIGTERM"))
  process.on("SIGINT", () => stop("SIGINT"))
  process.stdout.write(`ready ${process.pid}\n`)
}

main().catch((error: Error & { code?: string }) => {
  process.stderr.write(`studio-worker: ${error.code === undefined ? "" : `${error.code}: `}${error.message}\n`)
  process.exit(1)
})
