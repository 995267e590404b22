import { beforeAll, describe, expect, it } from "vitest"
import { AbortedError } from "@pagkit/pipelines"
import { tinyModelPath } from "@pagkit/tiny-models"
import { createApp } from "./app.js"
import type { JobInput, JobStatus } from "./job-schema.js"
import { LocalBackend } from "./local-backend.js"
import { loadModelInfo } from "./model-info.js"
import type { LoadedModelInfo } from "./model-info.js"
import type { StudioRunner } from "./runner.js"

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3])

/** A runner that takes `stepMs` per step and returns fixed bytes: the HTTP layer's tests need no model run. */
function fakeRunner(stepMs = 5): StudioRunner & { runs: JobInput[] } {
  const runs: JobInput[] = []
  return {
    runs,
    async run(job, { signal, onProgress }) {
      runs.push(job)
      for (let step = 1; step <= job.steps; step++) {
        await new Promise((r) => setTimeout(r, stepMs))
        onProgress?.({ step, steps: job.steps })
        if (signal?.aborted === true) throw new AbortedError(step, job.steps)
      }
      return PNG
    },
    close: async () => {},
  }
}

let model: LoadedModelInfo
beforeAll(async () => {
  model = await loadModelInfo(tinyModelPath("tiny-sdxl-shapes"))
})

function setup(stepMs?: number) {
  const runner = fakeRunner(stepMs)
  const app = createApp({ backend: new LocalBackend(runner), model })
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    app.request("/api/jobs", { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) })
  const status = async (id: string) => (await (await app.request(`/api/jobs/${id}`)).json()) as JobStatus
  const until = async (id: string, state: JobStatus["state"]) => {
    for (let i = 0; i < 400; i++) {
      const s = await status(id)
      if (s.state === state) return s
      await new Promise((r) => setTimeout(r, 5))
    }
    throw new Error(`job ${id} never reached ${state}: ${JSON.stringify(await status(id))}`)
  }
  return { app, runner, post, status, until }
}

const ok = { task: "text2image", prompt: "a red circle on a white background", steps: 4, seed: 1 }

describe("GET /api/model", () => {
  it("lists the model's family, hookable layers (defaults marked) and defaults", async () => {
    const { app } = setup()
    const info = (await (await app.request("/api/model")).json()) as LoadedModelInfo["info"]
    expect(info.family).toBe("sdxl")
    expect(info.name).toBe("tiny-sdxl-shapes")
    expect(info.layers).toHaveLength(17)
    expect(info.layers.filter((l) => l.default).map((l) => l.path)).toEqual([
      "mid_block.attentions.0.transformer_blocks.0.attn1",
      "mid_block.attentions.0.transformer_blocks.1.attn1",
    ])
    expect(info.defaults).toMatchObject({ width: 64, height: 64, pagLayers: ["mid"], scheduler: "EulerDiscreteScheduler" })
    expect(info.schedulers).toContain("DPMSolverMultistepScheduler")
  })
})

describe("POST /api/jobs validation", () => {
  const cases: [string, unknown, string, RegExp][] = [
    ["steps below 1", { ...ok, steps: 0 }, "INVALID_FIELD", /^steps: .*>=1.*found 0/],
    ["width not a multiple of 8", { ...ok, width: 65 }, "INVALID_FIELD", /^width: .*multiple of 8.*found 65/],
    ["a string seed", { ...ok, seed: "7" }, "INVALID_FIELD", /^seed: .*expected number.*found "7"/],
    ["an empty prompt", { ...ok, prompt: "" }, "INVALID_FIELD", /^prompt: expected a non-empty prompt/],
    ["a missing prompt", { task: "text2image" }, "INVALID_FIELD", /^prompt: .*found nothing/],
    ["an unknown task", { ...ok, task: "t2i" }, "INVALID_FIELD", /^task: expected one of text2image, image2image, inpainting, found "t2i"/],
    ["a misspelt field", { ...ok, stepz: 4 }, "UNKNOWN_FIELD", /"stepz": not a field/],
    ["a layer the model lacks", { ...ok, pagLayers: ["middle_block"] }, "INVALID_FIELD", /^pagLayers: .*"middle_block".*mid_block\.attentions\.0/s],
    ["no layers", { ...ok, pagLayers: [] }, "INVALID_FIELD", /^pagLayers: expected at least one layer pattern/],
    ["an unknown scheduler", { ...ok, scheduler: "Euler" }, "INVALID_FIELD", /^scheduler: expected one of .*EulerDiscreteScheduler.*found "Euler"/],
    ["inpainting without a mask", { ...ok, task: "inpainting", image: "iVBORw0KGgoAAAANSUhEUgAA" }, "INVALID_FIELD", /^mask: expected a PNG or JPEG/],
    ["an image that is not base64", { ...ok, task: "image2image", image: "file:///etc/passwd-and-more" }, "INVALID_FIELD", /^image: expected a PNG or JPEG/],
    ["a strength above 1", { ...ok, task: "image2image", image: "iVBORw0KGgoAAAANSUhEUgAA", strength: 1.5 }, "INVALID_FIELD", /^strength: .*<=1.*found 1.5/],
    ["an image that is base64 but not PNG/JPEG", { ...ok, task: "image2image", image: Buffer.from("GIF89a-not-a-png").toString("base64") }, "INVALID_FIELD", /^image: expected PNG or JPEG bytes.*found data starting with 47 49 46 38/],
    ["malformed JSON", "{bad", "INVALID_JSON", /^body: Malformed JSON/],
    ["a JSON array", [1], "INVALID_BODY", /^body: expected a JSON object.*found \[1\]/],
  ]
  for (const [name, body, code, message] of cases) {
    it(`rejects ${name} with 400 naming the field`, async () => {
      const { post, runner } = setup()
      const response = await post(body)
      expect(response.status).toBe(400)
      const json = (await response.json()) as { error: { code: string; message: string } }
      expect(json.error.code).toBe(code)
      expect(json.error.message).toMatch(message)
      expect(runner.runs).toHaveLength(0)
    })
  }
})

describe("jobs", () => {
  it("queues, runs with defaults filled in, streams progress, serves the PNG", async () => {
    const { app, post, runner } = setup()
    const response = await post({ task: "text2image", prompt: "a cat", steps: 3 })
    expect(response.status).toBe(202)
    const { id } = (await response.json()) as { id: string }
    const events = await app.request(`/api/jobs/${id}/events`)
    expect(events.headers.get("content-type")).toMatch(/text\/event-stream/)
    const statuses = (await events.text()).split("\n").filter((l) => l.startsWith("data: ")).map((l) => JSON.parse(l.slice(6)) as JobStatus)
    expect(statuses.at(-1)).toEqual({ id, state: "done", step: 3, steps: 3 })
    expect(statuses.map((s) => s.step)).toEqual([...statuses.map((s) => s.step)].sort((a, b) => a - b))
    expect(runner.runs[0]).toMatchObject({ steps: 3, width: 64, height: 64, guidanceScale: 5, pagScale: 3, pagLayers: ["mid"], scheduler: "EulerDiscreteScheduler" })
    expect(Number.isInteger(runner.runs[0]!.seed)).toBe(true)
    const image = await app.request(`/api/jobs/${id}/image`)
    expect(image.status).toBe(200)
    expect(image.headers.get("content-type")).toBe("image/png")
    expect(new Uint8Array(await image.arrayBuffer())).toEqual(PNG)
    expect((await app.request(`/api/jobs/${id}`, { method: "DELETE" })).status).toBe(409)
  })

  it("runs one job at a time, in order; the image is 409 until done", async () => {
    const { app, post, until } = setup(20)
    const ids = await Promise.all([1, 2, 3].map(async (seed) => ((await (await post({ ...ok, seed })).json()) as { id: string }).id))
    await until(ids[0]!, "running")
    const second = (await (await app.request(`/api/jobs/${ids[1]}`)).json()) as JobStatus
    expect(second).toEqual({ id: ids[1], state: "queued", step: 0, steps: 4 })
    const early = await app.request(`/api/jobs/${ids[1]}/image`)
    expect(early.status).toBe(409)
    expect(((await early.json()) as { error: { code: string } }).error.code).toBe("IMAGE_NOT_READY")
    for (const id of ids) await until(id, "done")
  })

  it("cancels a queued job at once and a running one after its current step, leaving no image", async () => {
    const { app, post, until, runner } = setup(30)
    const running = ((await (await post({ ...ok, steps: 50 })).json()) as { id: string }).id
    const queued = ((await (await post(ok)).json()) as { id: string }).id
    await until(running, "running")
    const cancelQueued = await app.request(`/api/jobs/${queued}`, { method: "DELETE" })
    expect(((await cancelQueued.json()) as JobStatus).state).toBe("cancelled")
    await app.request(`/api/jobs/${running}`, { method: "DELETE" })
    const cancelled = await until(running, "cancelled")
    expect(cancelled.step).toBeLessThan(50)
    expect((await app.request(`/api/jobs/${running}/image`)).status).toBe(409)
    expect(runner.runs).toHaveLength(1) // the queued job never ran
  })

  it("an Idempotency-Key returns the same job instead of a second one", async () => {
    const { post, runner, until } = setup()
    const a = ((await (await post(ok, { "idempotency-key": "tab-1-click-7" })).json()) as { id: string }).id
    const b = ((await (await post(ok, { "idempotency-key": "tab-1-click-7" })).json()) as { id: string }).id
    expect(b).toBe(a)
    await until(a, "done")
    expect(runner.runs).toHaveLength(1)
  })

  it("404s unknown jobs and routes with a coded error", async () => {
    const { app } = setup()
    for (const path of ["/api/jobs/nope", "/api/jobs/nope/image", "/api/jobs/nope/events"]) {
      const response = await app.request(path)
      expect(response.status).toBe(404)
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("JOB_NOT_FOUND")
    }
    const route = await app.request("/api/nothing")
    expect(((await route.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND")
  })

  it("reports a failing run as failed with the pipeline's code and message", async () => {
    const failing: StudioRunner = {
      run: async () => {
        throw Object.assign(new Error("StableDiffusionXLPAGPipeline does not take \"x\"."), { code: "INVALID_OPTION" })
      },
      close: async () => {},
    }
    const app = createApp({ backend: new LocalBackend(failing), model })
    const { id } = (await (await app.request("/api/jobs", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(ok) })).json()) as { id: string }
    const events = await (await app.request(`/api/jobs/${id}/events`)).text()
    expect(events).toContain(`"state":"failed"`)
    expect(events).toContain(`"code":"INVALID_OPTION"`)
  })
})
