import { Hono } from "hono"
import type { Context } from "hono"
import { bodyLimit } from "hono/body-limit"
import { HTTPException } from "hono/http-exception"
import { streamSSE } from "hono/streaming"
import { zValidator } from "@hono/zod-validator"
import type { JobBackend } from "./backend.js"
import { StudioError, errorBody } from "./errors.js"
import { isFinal, jobRequestSchema, stripDataUrl } from "./job-schema.js"
import type { JobInput, JobRequest, JobStatus } from "./job-schema.js"
import type { LoadedModelInfo } from "./model-info.js"
import { validationErrorBody } from "./validation-error.js"

/** The built page: `index.html` and its script. */
export interface PageAssets {
  readonly html: string
  readonly js: string
}

/** Options of {@link createApp}. */
export interface CreateAppOptions {
  readonly backend: JobBackend
  readonly model: LoadedModelInfo
  /** The page; without it only the API is served. */
  readonly page?: PageAssets
}

function fail(c: Context, status: StudioError["status"], code: string, message: string): Response {
  return c.json({ error: { code, message } }, status)
}

/** Rejects an image field whose bytes are neither PNG nor JPEG (before it reaches a worker). */
function checkImage(field: string, value: string): void {
  const head = Buffer.from(stripDataUrl(value).slice(0, 8), "base64")
  const png = head[0] === 0x89 && head[1] === 0x50 && head[2] === 0x4e && head[3] === 0x47
  const jpeg = head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff
  if (!png && !jpeg) {
    throw new StudioError("INVALID_FIELD", `${field}: expected PNG or JPEG bytes (base64), found data starting with ${[...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ") || "nothing"}. Send canvas.toDataURL("image/png") or a file's base64.`, { status: 400 })
  }
}

/** A request with the model's defaults filled in, checked against the model (tasks, layers, scheduler). */
export function completeJob(request: JobRequest, model: LoadedModelInfo): JobInput {
  const { info, resolver } = model
  const d = info.defaults
  if (!info.tasks.includes(request.task)) {
    throw new StudioError("INVALID_FIELD", `task: this ${info.family} model runs ${info.tasks.join(", ")}, found "${request.task}".`, { status: 400 })
  }
  const pagLayers = request.pagLayers ?? d.pagLayers
  try {
    resolver.resolve(pagLayers)
  } catch (error) {
    throw new StudioError("INVALID_FIELD", `pagLayers: ${(error as Error).message}`, { status: 400, cause: error })
  }
  const scheduler = request.scheduler ?? d.scheduler
  if (!info.schedulers.includes(scheduler)) {
    throw new StudioError("INVALID_FIELD", `scheduler: expected one of ${info.schedulers.join(", ")}, found "${scheduler}".`, { status: 400 })
  }
  if (request.task !== "text2image") checkImage("image", request.image)
  if (request.task === "inpainting") checkImage("mask", request.mask)
  return {
    task: request.task,
    prompt: request.prompt,
    ...(request.negativePrompt === undefined ? {} : { negativePrompt: request.negativePrompt }),
    seed: request.seed ?? Math.floor(Math.random() * 2 ** 31),
    steps: request.steps ?? d.steps,
    guidanceScale: request.guidanceScale ?? d.guidanceScale,
    pagScale: request.pagScale ?? d.pagScale,
    pagLayers,
    width: request.width ?? d.width,
    height: request.height ?? d.height,
    scheduler,
    ...(request.task === "text2image" ? {} : { image: stripDataUrl(request.image), strength: request.strength ?? d.strength }),
    ...(request.task === "inpainting" ? { mask: stripDataUrl(request.mask) } : {}),
  }
}

/**
 * The studio's HTTP API (and page) as a Hono app, over a job backend.
 * @example
 * const app = createApp({ backend: new LocalBackend(runner), model: await loadModelInfo(dir) })
 * serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 7860 })
 */
export function createApp(options: CreateAppOptions): Hono {
  const { backend, model, page } = options
  const app = new Hono()

  app.onError((error, c) => {
    if (error instanceof StudioError) return fail(c, error.status, error.code, error.message)
    if (error instanceof HTTPException) {
      const status = error.status === 413 ? 400 : error.status === 404 ? 404 : 400
      const message = error.status === 413 ? "body: the request is over 24 MB; send smaller images." : `body: ${error.message}. Send a JSON object with Content-Type: application/json.`
      return fail(c, status, error.status === 413 ? "BODY_TOO_LARGE" : "INVALID_JSON", message)
    }
    console.error(error)
    const body = errorBody(error)
    return fail(c, 500, body.code, body.message)
  })
  app.notFound((c) => fail(c, 404, "NOT_FOUND", `no route ${c.req.method} ${c.req.path}. The API is under /api (see the studio README).`))

  const needJob = async (c: Context, id: string): Promise<JobStatus> => {
    const status = await backend.status(id)
    if (status === undefined) throw new StudioError("JOB_NOT_FOUND", `no job "${id}": expected the id a POST /api/jobs returned (finished jobs are kept for a while, then forgotten).`, { status: 404 })
    return status
  }

  if (page !== undefined) {
    app.get("/", (c) => c.html(page.html))
    app.get("/assets/app.js", (c) => c.body(page.js, 200, { "content-type": "text/javascript; charset=utf-8" }))
  }

  app.get("/api/model", (c) => c.json(model.info))

  app.post(
    "/api/jobs",
    bodyLimit({ maxSize: 24 * 1024 * 1024, onError: () => { throw new HTTPException(413) } }),
    zValidator("json", jobRequestSchema, (result, c) => {
      if (!result.success) return c.json({ error: validationErrorBody(result.error, result.data) }, 400)
    }),
    async (c) => {
      const input = completeJob(c.req.valid("json"), model)
      const key = c.req.header("idempotency-key")
      const id = await backend.submit(input, key === undefined ? {} : { idempotencyKey: key })
      return c.json({ id }, 202)
    },
  )

  app.get("/api/jobs/:id", async (c) => c.json(await needJob(c, c.req.param("id"))))

  app.get("/api/jobs/:id/image", async (c) => {
    const id = c.req.param("id")
    const status = await needJob(c, id)
    if (status.state !== "done") {
      return fail(c, 409, "IMAGE_NOT_READY", `job "${id}" is ${status.state}: its image exists only once it is done. Watch GET /api/jobs/${id}/events.`)
    }
    const png = await backend.image(id)
    if (png === undefined) return fail(c, 404, "IMAGE_GONE", `job "${id}" is done but its image has expired; run it again.`)
    return c.body(png as Uint8Array<ArrayBuffer>, 200, { "content-type": "image/png", "cache-control": "private, max-age=86400, immutable" })
  })

  app.delete("/api/jobs/:id", async (c) => {
    const id = c.req.param("id")
    const status = await needJob(c, id)
    if (status.state === "done" || status.state === "failed") {
      return fail(c, 409, "JOB_FINISHED", `job "${id}" is already ${status.state}; only queued or running jobs can be cancelled.`)
    }
    return c.json((await backend.cancel(id)) ?? status)
  })

  app.get("/api/jobs/:id/events", async (c) => {
    const id = c.req.param("id")
    await needJob(c, id)
    return streamSSE(c, async (stream) => {
      let last = ""
      let ended = false
      let writes = Promise.resolve()
      let finish: () => void = () => {}
      const finished = new Promise<void>((resolve) => (finish = resolve))
      const send = (status: JobStatus): void => {
        const data = JSON.stringify(status)
        if (data === last || ended) return // nothing after the final state (a late read may be older)
        last = data
        writes = writes.then(() => stream.writeSSE({ event: "status", data }))
        if (isFinal(status.state)) {
          ended = true
          finish()
        }
      }
      const unwatch = backend.watch(id, send) // watch first, then read: no change slips between
      stream.onAbort(finish)
      // A comment line now and then keeps proxies from closing the stream while a job waits in the queue.
      const keepAlive = setInterval(() => (writes = writes.then(() => stream.write(": keep-alive\n\n")).then(() => {})), 15_000)
      try {
        const now = await backend.status(id)
        // A change that arrived while reading is newer than the read (and every later change arrives too).
        if (now === undefined) send({ id, state: "failed", step: 0, steps: 0, error: { code: "JOB_NOT_FOUND", message: `job "${id}" expired.` } })
        else if (last === "") send(now)
        await finished
        await writes // the final state goes out before the stream ends
      } finally {
        clearInterval(keepAlive)
        unwatch()
      }
    })
  })

  return app
}
