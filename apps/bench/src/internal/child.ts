// Runs one scenario in a fresh Node process, so its memory numbers are its own.
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { BenchError } from "../errors.js"

const childEntry = fileURLToPath(new URL("../child.ts", import.meta.url))

/** Prefix of the one stdout line that carries the scenario's JSON result. */
export const RESULT_PREFIX = "@@bench-result "

/**
 * Runs `src/child.ts <scenario>` under the same Node flags (the `tsx` loader) plus `--expose-gc`, and returns the
 * JSON the scenario printed. stderr is passed through.
 */
export function runChild<T>(scenario: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, "--expose-gc", childEntry, scenario], {
      stdio: ["ignore", "pipe", "inherit"],
    })
    let stdout = ""
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (chunk: string) => (stdout += chunk))
    child.on("error", reject)
    child.on("close", (code) => {
      const line = stdout.split("\n").find((l) => l.startsWith(RESULT_PREFIX))
      if (code !== 0 || line === undefined) {
        reject(new BenchError("BENCH_CHILD_FAILED", `bench scenario "${scenario}" exited with code ${code} without a result line (its error is printed above); stdout:\n${stdout}`))
        return
      }
      resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as T)
    })
  })
}
