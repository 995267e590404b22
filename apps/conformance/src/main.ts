/**
 * `pnpm conformance <oracle-dir> [--filter text] [--models dir]`: runs diffusers reference cases against pagkit,
 * prints one line per case and `N passed, M failed, K skipped`; exits 1 on any failure.
 * @module
 */
import { existsSync, statSync } from "node:fs"
import path from "node:path"
import { parseArgs } from "node:util"
import { tinyModelsDir, tinyOraclesDir } from "@pagkit/tiny-models"
import { caseKinds } from "./kinds/index.js"
import { runConformance } from "./run.js"
import { toleranceLines } from "./tolerances.js"

const usage = "usage: pnpm conformance <oracle-dir> [--filter <text>] [--models <dir>] [--allow-skip]"

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      filter: { type: "string" },
      models: { type: "string" },
      "allow-skip": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  })
  if (values.help === true) {
    console.log(usage)
    return 0
  }
  // pnpm runs root scripts from the workspace root; resolve user paths against where they typed the command.
  const cwd = process.env["INIT_CWD"] ?? process.cwd()
  const oracleDir = path.resolve(cwd, positionals[0] ?? tinyOraclesDir())
  if (!existsSync(oracleDir) || !statSync(oracleDir).isDirectory()) {
    console.error(`conformance: oracle folder not found: ${oracleDir}\n${usage}`)
    return 2
  }
  const modelsDir = values.models === undefined ? tinyModelsDir() : path.resolve(cwd, values.models)
  console.log(`oracles: ${oracleDir}\nmodels:  ${modelsDir}\ntolerances (apps/conformance/src/tolerances.ts):`)
  for (const line of toleranceLines()) console.log(line)
  console.log("checks:")
  for (const kind of caseKinds) console.log(`  ${kind.name.padEnd(24)} ${kind.tolerances}`)
  const started = Date.now()
  const summary = await runConformance({
    oracleDir,
    kinds: caseKinds,
    ...(values.filter === undefined ? {} : { filter: values.filter }),
    allowSkip: values["allow-skip"] === true,
    context: { modelsDir, log: (m) => console.error(m) },
    onResult: (r) => console.log(`${r.status.toUpperCase().padEnd(4)}  ${r.name}  ${r.detail}`),
  })
  console.log(`time: ${((Date.now() - started) / 1000).toFixed(1)} s`)
  console.log(`${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`)
  return summary.failed > 0 ? 1 : 0
}

process.exitCode = await main()
