import { readFileSync, readdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import path from "node:path"
import { readSafetensors } from "@pagkit/tensor"
import { describe, expect, it } from "vitest"
import { runSchedulerOracle } from "./internal/oracle-loop.js"
import { createScheduler } from "./registry.js"

// the shared fixtures, and this package's extra diffusers runs (test-data/README.md)
const oracleDirs = [
  fileURLToPath(new URL("../../tiny-models/oracles/schedulers/", import.meta.url)),
  fileURLToPath(new URL("../test-data/schedulers/", import.meta.url)),
]
const parseJson = (text: string): Record<string, any> => JSON.parse(text.replace(/-?Infinity|NaN/g, (m) => `"${m}"`))

describe.each(oracleDirs)("scheduler oracles in %s", (oracleDir) => {
  const cases = readdirSync(oracleDir)
    .filter((f) => f.endsWith(".json"))
    .sort()
  for (const file of cases) {
    const meta = parseJson(readFileSync(path.join(oracleDir, file), "utf8"))
    const className = meta["class"] as string
    it(`${file}`, async () => {
      const tensors = await readSafetensors(path.join(oracleDir, file.replace(/\.json$/, ".safetensors")))
      const config = Object.fromEntries(
        Object.entries(meta["config"] as Record<string, unknown>).map(([k, v]) => [
          k,
          v === "Infinity" ? Infinity : v === "-Infinity" ? -Infinity : v,
        ]),
      )
      const checks = runSchedulerOracle({
        meta,
        tensors,
        build: () => createScheduler({ ...config, _class_name: className }),
      })
      const failures = checks.filter((c) => !(c.error <= 1e-5))
      expect(failures, JSON.stringify(checks)).toEqual([])
    })
  }
})
