import { execFileSync, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, readdirSync } from "node:fs"
import { writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const main = path.join(path.dirname(fileURLToPath(import.meta.url)), "main.ts")

function start(args: string[]): { child: ReturnType<typeof spawn>; exited: Promise<number | null>; output: { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, ["--import", "tsx", main, ...args], { env: { ...process.env, INIT_CWD: "" }, stdio: ["ignore", "pipe", "pipe"] })
  const output = { stdout: "", stderr: "" }
  child.stdout!.on("data", (chunk: Buffer) => (output.stdout += chunk.toString()))
  child.stderr!.on("data", (chunk: Buffer) => (output.stderr += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return { child, exited, output }
}

describe("user abort", () => {
  it("Ctrl-C stops after the current step, writes no file and exits 130", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pagkit-cli-"))
    const { child, exited, output } = start(["generate", "--prompt", "a red circle", "--steps", "40", "--out", path.join(dir, "x.png")])
    child.stderr!.on("data", () => {
      if (output.stderr.includes("step 1/40") && child.exitCode === null && !child.killed) child.kill("SIGINT")
    })
    const code = await exited
    expect(output.stderr).toContain("stopping after the current step")
    expect(output.stderr).toMatch(/pagkit: the run was aborted after step [1-9]\d* of 40\. Nothing was written\./)
    expect(output.stderr).not.toMatch(/step 40\/40/)
    expect(output.stderr).not.toMatch(/\n\s+at /)
    expect(code).toBe(130)
    expect(output.stdout).toBe("")
    expect(readdirSync(dir)).toEqual([])
  })

  it("a FIFO --image nobody writes to does not block Ctrl-C (exit 130)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pagkit-cli-"))
    const fifo = path.join(dir, "in.png")
    execFileSync("mkfifo", [fifo])
    const { child, exited, output } = start(["img2img", "-p", "x", "-i", fifo, "-o", path.join(dir, "x.png")])
    let sent = 0
    child.stderr!.on("data", () => {
      if (sent === 0 && output.stderr.includes("waiting for --image")) {
        sent = Date.now()
        child.kill("SIGINT")
      }
    })
    const code = await exited
    expect(output.stderr).toContain(`waiting for --image ${fifo} (a pipe)`)
    expect(Date.now() - sent).toBeLessThan(5000)
    expect(code).toBe(130)
    expect(output.stderr).toMatch(/pagkit: stopped by the user \(Ctrl-C\) while waiting for --image .*; nothing was written\./)
    expect(readdirSync(dir)).toEqual(["in.png"])
  })

  it("reads a FIFO --image once a writer comes", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pagkit-cli-"))
    const fifo = path.join(dir, "in.png")
    execFileSync("mkfifo", [fifo])
    const image = path.join(path.dirname(main), "..", "..", "..", "packages", "tiny-models", "oracles", "images", "init-64.png")
    const out = path.join(dir, "x.png")
    const { child, exited, output } = start(["img2img", "-p", "x", "-n", "2", "--strength", "0.5", "-i", fifo, "-o", out])
    let fed = false
    child.stderr!.on("data", () => {
      if (!fed && output.stderr.includes("waiting for --image")) {
        fed = true
        void writeFile(fifo, readFileSync(image))
      }
    })
    expect(await exited).toBe(0)
    expect(output.stdout).toBe(`${out}\n`)
  })
})
