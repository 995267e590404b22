import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { describe, expect, it } from "vitest"
import { Tensor, readSafetensors, writeSafetensors } from "@pagkit/tensor"
import { tinyModelsDir, tinyOraclesDir } from "@pagkit/tiny-models"
import type { CaseKind } from "./kind.js"
import { caseKinds } from "./kinds/index.js"
import { runConformance } from "./run.js"

const context = { modelsDir: tinyModelsDir(), log: () => {} }

function copyCase(dir: string, rel: string, as = rel): void {
  mkdirSync(path.dirname(path.join(dir, as)), { recursive: true })
  for (const ext of [".json", ".safetensors"]) {
    copyFileSync(path.join(tinyOraclesDir(), rel + ext), path.join(dir, as + ext))
  }
}

describe("runConformance", () => {
  it("passes real cases, fails unreadable and unknown ones, and counts them", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pagkit-oracles-"))
    copyCase(dir, "schedulers/05-EulerDiscreteScheduler-10")
    writeFileSync(path.join(dir, "broken.json"), "{ not json")
    writeFileSync(path.join(dir, "mystery.json"), JSON.stringify({ what: "no kind knows this" }))
    const summary = await runConformance({ oracleDir: dir, kinds: caseKinds, context })
    expect(summary.passed).toBe(1)
    expect(summary.failed).toBe(2)
    expect(summary.results.find((r) => r.name.includes("broken"))?.detail).toMatch(/not valid JSON/)
  })

  it("runs a denoiser case against the other UNet exports (dynamo, fp16, external data with zero residuals)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pagkit-oracles-"))
    for (const variant of ["dynamo", "fp16", "controlnet"]) copyCase(dir, "denoiser-sdxl-unet", `denoiser-sdxl-unet-${variant}`)
    const summary = await runConformance({ oracleDir: dir, kinds: caseKinds, context })
    expect(summary.failed).toBe(0)
    expect(summary.passed).toBe(3 * 16)
  })

  it("fails a scheduler case whose reference was tampered with", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pagkit-oracles-"))
    copyCase(dir, "schedulers/05-EulerDiscreteScheduler-10")
    const meta = JSON.parse(readFileSync(path.join(dir, "schedulers/05-EulerDiscreteScheduler-10.json"), "utf8"))
    meta.timesteps[3] += 1
    writeFileSync(path.join(dir, "schedulers/05-EulerDiscreteScheduler-10.json"), JSON.stringify(meta))
    const summary = await runConformance({ oracleDir: dir, kinds: caseKinds, context })
    expect(summary.failed).toBe(1)
  })

  it("runs a pipeline case with arguments the shared cases do not use, and rejects unknown ones", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pagkit-oracles-"))
    copyCase(dir, "sdxl-t2i-pag-cfg-mid")
    const file = path.join(dir, "sdxl-t2i-pag-cfg-mid.json")
    const meta = JSON.parse(readFileSync(file, "utf8"))
    // The reference tensors stay those of the original call, so the changed run must be detected as different.
    meta.call = { ...meta.call, guidance_rescale: 0.7, pag_adaptive_scale: 0.002, num_images_per_prompt: 1 }
    writeFileSync(file, JSON.stringify(meta))
    const changed = await runConformance({ oracleDir: dir, kinds: caseKinds, context })
    expect(changed.results[0]?.detail).not.toMatch(/does not take/)
    expect(changed.failed).toBe(1)
    meta.call = { ...meta.call, guidance_rescale: undefined, pag_adaptive_scale: undefined, made_up_argument: 1 }
    writeFileSync(file, JSON.stringify(meta))
    const unknown = await runConformance({ oracleDir: dir, kinds: caseKinds, context })
    expect(unknown.results[0]?.detail).toMatch(/madeUpArgument/)
  })
})

describe("the runner cannot pass on nothing (issue 16, item 8)", () => {
  const passOnNothing: CaseKind = {
    name: "fake",
    tolerances: "none",
    detect: () => true,
    run: async (file) => [{ name: `fake ${file.relPath}`, status: "pass", detail: "", comparisons: 0 }],
  }

  it("a pass with zero comparisons is a failure", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pagkit-oracles-"))
    writeFileSync(path.join(dir, "anything.json"), JSON.stringify({ what: "x" }))
    const summary = await runConformance({ oracleDir: dir, kinds: [passOnNothing], context })
    expect(summary).toMatchObject({ passed: 0, failed: 1 })
    expect(summary.results[0]?.detail).toMatch(/compared nothing/)
  })

  it("a case no kind can run fails unless allowSkip", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pagkit-oracles-"))
    writeFileSync(path.join(dir, "sd3.json"), JSON.stringify({ pipeline: "StableDiffusion3Pipeline", call: {} }))
    const strict = await runConformance({ oracleDir: dir, kinds: caseKinds, context })
    expect(strict).toMatchObject({ passed: 0, failed: 1, skipped: 0 })
    expect(strict.results[0]?.detail).toMatch(/cannot run[\s\S]*--allow-skip/)
    const lenient = await runConformance({ oracleDir: dir, kinds: caseKinds, context, allowSkip: true })
    expect(lenient).toMatchObject({ passed: 0, failed: 0, skipped: 1 })
  })

  it("an SDXL pipeline case fails with no comparable tensors, and when pagkit's step count differs from the oracle's", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pagkit-oracles-"))
    copyCase(dir, "sdxl-t2i-pag-cfg-mid")
    const tensorsFile = path.join(dir, "sdxl-t2i-pag-cfg-mid.safetensors")
    const oracle = await readSafetensors(tensorsFile)
    const steps = [...oracle.keys()].filter((k) => k.startsWith("latents.step")).length
    expect(steps).toBeGreaterThan(1)
    // One recorded step fewer than pagkit runs.
    oracle.delete(`latents.step${steps - 1}`)
    await writeSafetensors(tensorsFile, Object.fromEntries(oracle))
    const fewer = await runConformance({ oracleDir: dir, kinds: caseKinds, context })
    expect(fewer.failed).toBe(1)
    expect(fewer.results[0]?.detail).toMatch(new RegExp(`pagkit ran ${steps} steps; the oracle has ${steps - 1}`))
    // Nothing comparable at all.
    await writeSafetensors(tensorsFile, { unrelated: Tensor.zeros([1], "float32") })
    const empty = await runConformance({ oracleDir: dir, kinds: caseKinds, context })
    expect(empty.failed).toBe(1)
    expect(empty.results[0]?.detail).toMatch(/nothing to compare/)
  })

  it("every kind's tolerance comes from the one table", async () => {
    const { TOLERANCES, toleranceLines } = await import("./tolerances.js")
    const lines = toleranceLines()
    expect(lines.length).toBe(Object.keys(TOLERANCES).length)
    expect(lines.join("\n")).toMatch(/pipeline-sdxl\s+imageMaxAbs=0\.001\s+latentsRelL2=0\.001\s+noiseMaxAbs=0\.000001/)
    for (const kind of caseKinds.filter((k) => k.name in TOLERANCES)) {
      for (const value of Object.values(TOLERANCES[kind.name as keyof typeof TOLERANCES])) expect(kind.tolerances).toContain(String(value))
    }
  })
})
