import { mkdtemp, readdir, rm } from "node:fs/promises"
import os from "node:os"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SafetensorsFile, Tensor, concat, relativeL2, slice } from "@pagkit/tensor"
import { model, oraclesDir } from "../internal/fixtures.js"
import { identityAttention } from "../hooks/identity-attention.js"
import { loadHookedModel } from "../hooks/load-hooked-model.js"
import type { HookedModel } from "../hooks/hooked-model.js"
import { SplitSession } from "./split-session.js"

const tempDirs: string[] = []
/** The SDXL oracle feeds these per row; its timestep is one value (`int64[1]`) shared by all rows. */
const ORACLE_PER_ROW = ["sample", "encoder_hidden_states", "text_embeds", "time_ids"]
afterAll(() => Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true }))))

/** The oracle's denoiser inputs (3 rows of random values), laid out as `[uncond, cond, perturbed = cond]`. */
async function oracleInputs(name: string): Promise<Record<string, Tensor>> {
  const file = await SafetensorsFile.open(path.join(oraclesDir, `${name}.safetensors`))
  const inputs: Record<string, Tensor> = {}
  for (const key of file.names) if (key.startsWith("in.")) inputs[key.slice(3)] = await file.read(key)
  await file.close()
  return pick(inputs, 3, [0, 1, 1])
}

/** Deterministic values in [-1, 1). */
function values(shape: number[], seed: number): Tensor<"float32"> {
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1))
  let state = seed >>> 0
  for (let i = 0; i < out.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    out[i] = state / 2 ** 31 - 1
  }
  return new Tensor("float32", out, shape)
}

/** Rows `rows` of every per-row input (first axis = `batch`). */
function pick(inputs: Record<string, Tensor>, batch: number, rows: number[]): Record<string, Tensor> {
  return Object.fromEntries(
    Object.entries(inputs).map(([k, t]) => [k, t.rank > 0 && t.shape[0] === batch ? concat(rows.map((r) => slice(t, 0, r, r + 1)), 0) : t]),
  )
}

/** Largest per-row relative L2 between two `[B, …]` outputs. */
function maxRowRelL2(actual: Tensor, expected: Tensor): number {
  let worst = 0
  for (let r = 0; r < expected.shape[0]!; r++) worst = Math.max(worst, relativeL2(slice(actual, 0, r, r + 1), slice(expected, 0, r, r + 1)))
  return worst
}

async function expectSplitEqualsFull(
  hooked: HookedModel,
  session: SplitSession,
  feeds: Record<string, Tensor>,
  rows: (readonly string[])[],
): Promise<void> {
  const gated = { ...feeds, pag_gates: hooked.gates("identity-attention", rows) }
  const full = (await hooked.run(gated))["out_sample"]!
  const split = (await session.run(gated))["out_sample"]!
  expect(session.lastRun).toMatchObject({ execution: "split", rows: rows.length, distinctRows: rows.length - 1 })
  expect(split.shape).toEqual(full.shape)
  expect(maxRowRelL2(split, full)).toBeLessThanOrEqual(1e-6)
  // a second call reuses the loaded split
  const again = (await session.run(gated))["out_sample"]!
  expect(maxRowRelL2(again, full)).toBeLessThanOrEqual(1e-6)
  // a split that ignored the gates would fail here: the perturbed row differs from the cond row
  const last = rows.length - 1
  expect(relativeL2(slice(split, 0, last, last + 1), slice(split, 0, last - 1, last))).toBeGreaterThan(1e-3)
}

describe("SplitSession (tiny SDXL UNet)", () => {
  const source = model("tiny-sdxl/unet")
  const hooks = [identityAttention()]
  let hooked: HookedModel
  let session: SplitSession
  let cacheDir: string
  beforeAll(async () => {
    cacheDir = await mkdtemp(path.join(os.tmpdir(), "pagkit-split-"))
    tempDirs.push(cacheDir)
    hooked = await loadHookedModel(source, { hooks, intraOpThreads: 1 })
    session = new SplitSession(hooked, { source, hooks, execution: "split", cacheDir, sessionOptions: { intraOpThreads: 1 } })
  })
  afterAll(() => session.release())

  for (const prefix of ["mid_block.", "down_blocks.2.", "up_blocks.0."]) {
    it(`equals the full hooked run for ${prefix}* ([uncond, cond, perturbed] and [cond, perturbed])`, async () => {
      const inputs = await oracleInputs("denoiser-sdxl-unet")
      const layers = hooked.layers("identity-attention").filter((p) => p.startsWith(prefix))
      await expectSplitEqualsFull(hooked, session, inputs, [[], [], layers])
      await expectSplitEqualsFull(hooked, session, pick(inputs, 3, [1, 2]), [[], layers])
      const split = await session.prepare({ "identity-attention": layers }, ORACLE_PER_ROW)
      expect(split.crossing.length).toBeGreaterThan(0)
      expect(split.stats.bypassedHooks).toBe(17 - layers.length)
    })
  }

  it("caches split graphs on disk and in memory, and falls back to full when no row shares its inputs", async () => {
    expect((await readdir(cacheDir)).filter((f) => /\.split\.(onnx|json)$/.test(f))).toHaveLength(6)
    const layers = hooked.layers("identity-attention").filter((p) => p.startsWith("mid_block."))
    const again = await session.prepare({ "identity-attention": [...layers].reverse() }, ORACLE_PER_ROW)
    expect(again).toBe(await session.prepare({ "identity-attention": layers }, ORACLE_PER_ROW))
    const reloaded = new SplitSession(hooked, { source, hooks, cacheDir })
    const fromDisk = await reloaded.prepare({ "identity-attention": layers }, ORACLE_PER_ROW)
    expect(fromDisk.fromCache).toBe(true)
    await fromDisk.session.release()
    const inputs = await oracleInputs("denoiser-sdxl-unet")
    session.execution = "auto"
    await session.run({ ...pick(inputs, 3, [0, 1]), pag_gates: hooked.gates("identity-attention", [[], layers]) })
    expect(session.lastRun).toMatchObject({ execution: "full", reason: "no row shares its inputs" })
    await session.run({ ...inputs, pag_gates: hooked.gates("identity-attention", [[], [], layers]) })
    expect(session.lastRun).toMatchObject({ execution: "split", distinctRows: 2 })
    // auto times both paths on the first calls of a shape (2 each, alternating), then keeps the faster
    const gated = { ...inputs, pag_gates: hooked.gates("identity-attention", [[], [], layers]) }
    const executions: string[] = []
    for (let i = 0; i < 4; i++) {
      await session.run(gated)
      executions.push(session.lastRun!.execution)
    }
    expect(executions.slice(0, 3)).toEqual(["full", "split", "full"])
    expect(session.lastRun?.reason).toMatch(/^measured: split [\d.]+ ms, full [\d.]+ ms$/)
    session.execution = "full"
    await session.run({ ...inputs, pag_gates: hooked.gates("identity-attention", [[], [], layers]) })
    expect(session.lastRun).toMatchObject({ execution: "full" })
    session.execution = "split"
  })
})

describe("SplitSession (ControlNet residuals, PixArt)", () => {
  it("equals the full run on a UNet with ControlNet residuals (external data)", async () => {
    const source = model("variants/unet-controlnet")
    const hooks = [identityAttention()]
    const hooked = await loadHookedModel(source, { hooks, intraOpThreads: 1 })
    const session = new SplitSession(hooked, { source, hooks, execution: "split", sessionOptions: { intraOpThreads: 1 } })
    const inputs = await oracleInputs("denoiser-sdxl-unet")
    const [, , h, w] = inputs["sample"]!.shape as number[]
    const residuals: Record<string, Tensor> = {}
    for (const info of hooked.session.inputs.filter((i) => i.name.includes("additional_residual"))) {
      const level = info.name === "mid_block_additional_residual" ? 2 : Math.min(2, Math.floor(Number(info.name.slice(-1)) / 3))
      const channels = info.shape[1] as number
      const cond = values([1, channels, h! >> level, w! >> level], info.name.length)
      // uncond gets its own residuals, the perturbed row the cond row's
      residuals[info.name] = concat([values([1, channels, h! >> level, w! >> level], info.name.length + 99), cond, cond], 0)
    }
    const layers = hooked.layers("identity-attention").filter((p) => p.startsWith("mid_block."))
    await expectSplitEqualsFull(hooked, session, { ...inputs, ...residuals }, [[], [], layers])
    expect((await session.prepare({ "identity-attention": layers }, [...ORACLE_PER_ROW, ...Object.keys(residuals)])).external).toBe(true)
    await session.release()
  })

  it("equals the full run on the PixArt transformer for a late block", async () => {
    const source = model("tiny-pixart-sigma/transformer")
    const hooks = [identityAttention()]
    const hooked = await loadHookedModel(source, { hooks, intraOpThreads: 1 })
    const session = new SplitSession(hooked, { source, hooks, execution: "split", sessionOptions: { intraOpThreads: 1 } })
    const inputs = await oracleInputs("denoiser-pixart")
    await expectSplitEqualsFull(hooked, session, inputs, [[], [], ["transformer_blocks.10.attn1"]])
    const split = await session.prepare({ "identity-attention": ["transformer_blocks.10.attn1"] }, ["hidden_states", "encoder_hidden_states", "encoder_attention_mask", "timestep"])
    expect(split.stats.prefixMatMulShare).toBeGreaterThan(0.7)
    await session.release()
  })
})
