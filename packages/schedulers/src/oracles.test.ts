import { readdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { SCHEDULER_ORACLES, SCHEDULER_TEST_DATA, loadOracleCase } from "./internal/oracle-report.js"
import { createScheduler } from "./registry.js"
import { runSchedulerOracle } from "./testing.js"

// the shared fixtures, and this package's extra diffusers runs (test-data/README.md)
const oracleDirs = [fileURLToPath(SCHEDULER_ORACLES), fileURLToPath(SCHEDULER_TEST_DATA)]

describe.each(oracleDirs)("scheduler oracles in %s", (oracleDir) => {
  const cases = readdirSync(oracleDir)
    .filter((f) => f.endsWith(".json"))
    .sort()
  for (const file of cases) {
    it(`${file}`, async () => {
      const { meta, tensors } = await loadOracleCase(oracleDir, file.replace(/\.json$/, ""))
      const { checks } = runSchedulerOracle({
        meta,
        tensors,
        build: () => createScheduler({ ...meta.config, _class_name: meta.class }),
      })
      const failures = checks.filter((c) => !(c.error <= 1e-5))
      expect(failures, JSON.stringify(checks)).toEqual([])
    })
  }
})
