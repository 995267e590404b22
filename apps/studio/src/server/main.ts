// `pnpm studio [--port 7860] [--host 127.0.0.1] [--model DIR] [--redis URL]`: the studio's HTTP server.
import { serve } from "@hono/node-server"
import type { AddressInfo } from "node:net"
import { createApp } from "./app.js"
import { StudioError } from "./errors.js"
import { parseStudioArgs } from "./args.js"
import type { JobBackend } from "./backend.js"
import { LocalBackend } from "./local-backend.js"
import { loadModelInfo } from "./model-info.js"
import { buildPage } from "./page-assets.js"
import { QueueBackend } from "./queue-backend.js"
import { createRunner } from "./runner.js"

/** A running studio server. */
export interface RunningStudio {
  readonly url: string
  close(): Promise<void>
}

/**
 * Starts the studio: loads the model info, builds the page, serves the API on `host:port` (port 0: any free one).
 * Without `redis` jobs run in this process's pipeline worker; with it they go on the BullMQ queue.
 * @example
 * const studio = await startStudio({ modelDir, port: 0, host: "127.0.0.1", redis: undefined })
 */
export async function startStudio(options: { modelDir: string; port: number; host: string; redis: string | undefined }): Promise<RunningStudio> {
  const model = await loadModelInfo(options.modelDir)
  const backend: JobBackend = options.redis === undefined
    ? new LocalBackend(createRunner({ modelDir: model.modelDir, family: model.info.family }))
    : await QueueBackend.connect(options.redis)
  const app = createApp({ backend, model, page: await buildPage() })
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: options.host, port: options.port }, () => resolve(s))
    s.once("error", (error: Error & { code?: string }) => {
      void backend.close()
      reject(new StudioError("LISTEN_FAILED", `could not listen on ${options.host}:${options.port}: ${error.code ?? error.message}. Pass another --port (0 picks a free one).`, { cause: error }))
    })
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${options.host}:${port}`,
    async close() {
      await backend.close()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
      })
    },
  }
}

async function main(): Promise<void> {
  const args = parseStudioArgs(process.argv.slice(2))
  const studio = await startStudio(args)
  process.stdout.write(`pagkit studio on ${studio.url} (${args.redis === undefined ? "local: jobs run in this process's pipeline worker" : `queue mode: jobs go to BullMQ at ${args.redis}`})\n`)
  const stop = (): void => void studio.close().then(() => process.exit(0))
  process.on("SIGTERM", stop)
  process.on("SIGINT", stop)
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: Error & { code?: string }) => {
    process.stderr.write(`studio: ${error.code === undefined ? "" : `${error.code}: `}${error.message}\n`)
    process.exit(1)
  })
}
