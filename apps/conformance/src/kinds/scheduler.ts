// Scheduler oracle cases (`schedulers/NN-Class-STEPS.{json,safetensors}`): build the scheduler from the case's
// config, run diffusers' synthetic denoising loop and compare every intermediate latent.
import { createScheduler } from "@pagkit/schedulers"
import { runSchedulerOracle } from "@pagkit/schedulers/testing"
import type { OracleCheck } from "@pagkit/schedulers/testing"
import { readSafetensors } from "@pagkit/tensor"
import type { CaseFile, CaseKind, CaseResult } from "../kind.js"
import { TOLERANCES } from "../tolerances.js"

/** Relative tolerance of every comparison: |ours − ref| ≤ TOLERANCE · max(1, |ref|). */
const TOLERANCE = TOLERANCES.scheduler.relative

/** Runs one case (the loop of `@pagkit/schedulers/testing`) and returns every comparison, in order. */
async function runCase(file: CaseFile): Promise<OracleCheck[]> {
  const meta = file.meta
  if (file.tensorsPath === undefined) throw new Error(`no .safetensors next to ${file.relPath}`)
  const tensors = await readSafetensors(file.tensorsPath)
  if (!tensors.has("x.init")) throw new Error(`${file.relPath} has no x.init tensor`)
  const build = () => createScheduler({ ...(meta["config"] as Record<string, unknown>), _class_name: meta["class"] as string })
  return runSchedulerOracle({ meta, tensors, build }).checks
}

/** Scheduler cases: timesteps, sigmas, init_noise_sigma, order, every step's latents and add_noise. */
export const schedulerKind: CaseKind = {
  name: "scheduler",
  tolerances: `scheduler: timesteps, sigmas, init_noise_sigma, x.step{k}, noise.{i}, add_noise within ${TOLERANCE}·max(1, |ref|); order and number of noise draws exact`,
  detect: (file) =>
    typeof file.meta["class"] === "string" &&
    typeof file.meta["config"] === "object" &&
    typeof file.meta["steps"] === "number",
  async run(file): Promise<CaseResult[]> {
    const name = `scheduler ${file.relPath}`
    const checks = await runCase(file)
    const worst = checks.reduce((a, b) => (b.error > a.error ? b : a))
    const failed = checks.filter((c) => !(c.error <= TOLERANCE))
    const steps = checks.filter((c) => c.what.startsWith("x.step")).length
    if (failed.length > 0) {
      const list = failed
        .slice(0, 4)
        .map((c) => `${c.what} ${c.error.toExponential(2)}`)
        .join(", ")
      return [
        {
          name,
          status: "fail",
          detail: `${failed.length} of ${checks.length} checks over ${TOLERANCE}: ${list}${failed.length > 4 ? ", …" : ""}`,
        },
      ]
    }
    return [
      {
        name,
        status: "pass",
        detail: `${steps} steps, max rel err ${worst.error.toExponential(2)} (${worst.what}) ≤ ${TOLERANCE}`,
      },
    ]
  },
}
