/**
 * Entry of the bench's child processes: `node --import tsx --expose-gc src/child.ts <scenario>` runs one scenario
 * and prints its JSON result on one stdout line (see `internal/child.ts`).
 * @module
 */
import { RESULT_PREFIX } from "./internal/child.js"
import { pagCostMemoryChild, pagCostMemoryScenarios } from "./measures/pag-cost.js"
import { pipelineMemoryChild, pipelineMemoryScenarios } from "./measures/pipeline-memory.js"
import { rewriteMemoryChild, rewriteMemoryScenarios } from "./measures/rewrite-memory.js"
import { text2imageChild, text2imageScenarios } from "./measures/text2image-run.js"

const handlers: ReadonlyArray<readonly [readonly string[], (name: string) => Promise<unknown>]> = [
  [text2imageScenarios, text2imageChild],
  [pipelineMemoryScenarios, pipelineMemoryChild],
  [rewriteMemoryScenarios, rewriteMemoryChild],
  [pagCostMemoryScenarios, pagCostMemoryChild],
]

const scenario = process.argv[2] ?? ""
const handler = handlers.find(([names]) => names.includes(scenario))?.[1]
if (handler === undefined) {
  console.error(`bench child: unknown scenario "${scenario}"; known: ${handlers.flatMap(([names]) => names).join(", ")}.`)
  process.exit(2)
}
const result = await handler(scenario)
process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`)
