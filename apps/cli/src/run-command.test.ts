import { spawn } from "node:child_process"
import { mkdtempSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const main = path.join(path.dirname(fileURLToPath(import.meta.url)), "main.ts")

describe("runCommand in a worker thread", () => {
  it("stops cleanly on Ctrl-C after the current step and writes no file", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pagkit-cli-"))
    const child = spawn(process.execPath, ["--import", "tsx", main, "generate", "--prompt", "a red circle", "--steps", "40", "--out", path.join(dir, "x.png")], {
      env: { ...process.env, INIT_CWD: "" },
      stdio: ["ignore", "pipe", "pipe"],
    })
    let stderr = ""
    let stdout = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
    child.stderr.on("data", (chunk: Buffer) => {
      const before = stderr
      stderr += chunk.toString()
      if (!before.includes("step 1/40") && stderr.includes("step 1/40")) child.kill("SIGINT")
    })
    const code = await exited
    expect(stderr).toContain("stopping after the current step")
    expect(stderr).toMatch(/pagkit: the run was aborted after step [1-9]\d* of 40\./)
    expect(stderr).not.toMatch(/step 40\/40/)
    expect(stderr).not.toMatch(/\n\s+at /)
    expect(code).toBe(1)
    expect(stdout).toBe("")
    expect(readdirSync(dir)).toEqual([])
  })
})
