import { spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import path from "node:path"
import { Redis } from "ioredis"
import { ensureSystemBinary } from "./system-package.js"
import type { EnsureResult } from "./system-package.js"

/** A free TCP port on 127.0.0.1 (bound and released; fine for tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))))
    })
  })
}

/** Installs Debian's `redis-server` when /usr/bin/redis-server is missing. */
export function ensureRedisServer(): EnsureResult {
  return ensureSystemBinary({ binary: "/usr/bin/redis-server", aptPackage: "redis-server" })
}

/** A redis-server started by a test on a free loopback port, without persistence. */
export interface TestRedis {
  readonly url: string
  readonly process: ChildProcess
  stop(): Promise<void>
}

/** Starts `redis-server` on 127.0.0.1 and a free port, in a temporary folder; waits until it answers PING. */
export async function startRedis(binary = "/usr/bin/redis-server"): Promise<TestRedis> {
  const port = await freePort()
  const dir = mkdtempSync(path.join(tmpdir(), "studio-redis-"))
  const child = spawn(binary, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], { stdio: ["ignore", "ignore", "inherit"] })
  const url = `redis://127.0.0.1:${port}`
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
  client.on("error", () => {}) // refused until redis-server listens; the loop below retries
  let ready = false
  for (let i = 0; i < 100 && !ready; i++) {
    try {
      await client.connect()
      ready = (await client.ping()) === "PONG"
    } catch {
      client.disconnect()
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  client.disconnect()
  if (!ready) {
    child.kill("SIGKILL")
    throw new Error(`redis-server did not answer on ${url} within 10 s.`)
  }
  return {
    url,
    process: child,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r))
        child.kill("SIGTERM")
        await exited
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
