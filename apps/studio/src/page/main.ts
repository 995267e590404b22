// The studio page: a form, the PAG off/on pair with live progress, cancel, history, img2img and inpainting.
// It talks only to the HTTP API (see the README).
import type { ErrorView, JobStatusView, ModelInfoView } from "./api-types.js"
import { MaskEditor } from "./mask-editor.js"

const $ = <T extends HTMLElement = HTMLElement>(selector: string): T => {
  const el = document.querySelector<T>(selector)
  if (el === null) throw new Error(`the page lacks ${selector}`)
  return el
}
const field = (id: string): HTMLInputElement => $<HTMLInputElement>(`#${id}`)

const errorBox = $("#error")
const generate = $<HTMLButtonElement>("#generate")
const cancel = $<HTMLButtonElement>("#cancel")
const task = $<HTMLSelectElement>("#task")
const editor = new MaskEditor($<HTMLCanvasElement>("#image-canvas"), $<HTMLCanvasElement>("#mask-canvas"))

/** The two jobs of the current pair (PAG off, PAG on). */
let current: { off?: string; on?: string } = {}

function showError(message: string): void {
  errorBox.textContent = message
}

async function api<T>(method: string, url: string, body?: unknown): Promise<T> {
  const response = await fetch(url, {
    method,
    ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  })
  const data = (await response.json()) as T | ErrorView
  if (!response.ok) throw new Error((data as ErrorView).error?.message ?? `${method} ${url}: HTTP ${response.status}`)
  return data as T
}

function number(id: string): number | undefined {
  const value = field(id).value.trim()
  return value === "" ? undefined : Number(value)
}

function renderLayers(model: ModelInfoView): void {
  const box = $("#layers")
  const groups = new Map<string, ModelInfoView["layers"][number][]>()
  for (const layer of model.layers) groups.set(layer.group, [...(groups.get(layer.group) ?? []), layer])
  for (const [group, layers] of groups) {
    const set = document.createElement("fieldset")
    const legend = document.createElement("legend")
    legend.textContent = group
    set.append(legend)
    for (const layer of layers) {
      const label = document.createElement("label")
      const box = document.createElement("input")
      box.type = "checkbox"
      box.value = layer.path
      box.checked = layer.default
      label.title = layer.path
      label.append(box, ` ${layer.path.slice(group.length + 1).replace(/transformer_blocks\./, "tb").replace(/attentions\./, "a").replace(/\.attn1$/, "")}`)
      set.append(label)
    }
    box.append(set)
  }
}

async function loadModel(): Promise<void> {
  const model = await api<ModelInfoView>("GET", "/api/model")
  $("#model-name").textContent = `${model.name} · ${model.className} · ${model.layers.length} hookable layers`
  const d = model.defaults
  for (const [id, value] of [["steps", d.steps], ["guidance", d.guidanceScale], ["pag-scale", d.pagScale], ["width", d.width], ["height", d.height], ["strength", d.strength]] as const) {
    field(id).value = String(value)
  }
  const scheduler = $<HTMLSelectElement>("#scheduler")
  for (const name of model.schedulers) scheduler.add(new Option(name, name, name === d.scheduler, name === d.scheduler))
  for (const option of [...task.options]) option.disabled = !model.tasks.includes(option.value)
  renderLayers(model)
  editor.resize(d.width, d.height)
}

function requestBody(): Record<string, unknown> {
  const layers = [...document.querySelectorAll<HTMLInputElement>("#layers input:checked")].map((b) => b.value)
  const body: Record<string, unknown> = {
    task: task.value,
    prompt: $<HTMLTextAreaElement>("#prompt").value,
    seed: number("seed"),
    steps: number("steps"),
    guidanceScale: number("guidance"),
    pagLayers: layers,
    width: number("width"),
    height: number("height"),
    scheduler: $<HTMLSelectElement>("#scheduler").value,
  }
  const negative = field("negative").value
  if (negative !== "") body["negativePrompt"] = negative
  if (task.value !== "text2image") {
    body["image"] = editor.imageData()
    if (body["image"] === undefined) throw new Error("image: choose an input image file, or click a result in the history.")
    body["strength"] = number("strength")
  }
  if (task.value === "inpainting") {
    body["mask"] = editor.maskData()
    if (body["mask"] === undefined) throw new Error("mask: draw over the part of the input image to repaint.")
  }
  return body
}

function renderCard(card: HTMLElement, status: JobStatusView | "rejected"): void {
  const bar = card.querySelector<HTMLElement>(".bar div")!
  const text = card.querySelector<HTMLElement>(".progress")!
  if (status === "rejected") {
    bar.style.width = "0%"
    text.textContent = "not started (see the message)"
    card.dataset["state"] = "rejected"
    return
  }
  bar.style.width = `${status.steps === 0 ? 0 : (100 * status.step) / status.steps}%`
  text.textContent = `${status.state} · step ${status.step}/${status.steps}${status.error === undefined ? "" : ` · ${status.error.message}`}`
  card.dataset["state"] = status.state
  if (status.state === "done") card.querySelector("img")!.src = `/api/jobs/${status.id}/image`
}

const isFinalState = (s: JobStatusView): boolean => s.state === "done" || s.state === "failed" || s.state === "cancelled"

/** Follows a job's events until its final state, reconnecting when the stream drops before it. */
function follow(id: string, card: HTMLElement): Promise<JobStatusView> {
  return new Promise((resolve) => {
    const source = new EventSource(`/api/jobs/${id}/events`)
    source.addEventListener("status", (event) => {
      const status = JSON.parse((event as MessageEvent<string>).data) as JobStatusView
      renderCard(card, status)
      if (isFinalState(status)) {
        source.close()
        resolve(status)
      }
    })
    source.onerror = () => {
      source.close()
      api<JobStatusView>("GET", `/api/jobs/${id}`).then(
        (s) => {
          renderCard(card, s)
          if (isFinalState(s)) resolve(s)
          else setTimeout(() => void follow(id, card).then(resolve), 1000)
        },
        (e: Error) => resolve({ id, state: "failed", step: 0, steps: 0, error: { code: "LOST", message: `lost the job: ${e.message}` } }),
      )
    }
  })
}

function addHistory(prompt: string, seed: unknown, off: JobStatusView, on: JobStatusView, pagScale: unknown): void {
  const figure = document.createElement("figure")
  const thumbs = document.createElement("div")
  thumbs.className = "thumbs"
  for (const job of [off, on]) {
    const img = document.createElement("img")
    img.alt = job === off ? "PAG off" : "PAG on"
    if (job.state === "done") {
      img.src = `/api/jobs/${job.id}/image`
      img.title = "click: use as input image"
      img.addEventListener("click", () => void editor.load(img.src))
    }
    thumbs.append(img)
  }
  const caption = document.createElement("figcaption")
  caption.textContent = `${off.state === "done" && on.state === "done" ? "" : `[${on.state}] `}seed ${String(seed)} · pag ${String(pagScale)} · ${prompt}`
  caption.title = caption.textContent
  figure.append(thumbs, caption)
  $("#history").prepend(figure)
}

async function onGenerate(event: Event): Promise<void> {
  event.preventDefault()
  showError("")
  let body: Record<string, unknown>
  try {
    body = requestBody()
  } catch (error) {
    showError((error as Error).message)
    return
  }
  const pagScale = number("pag-scale")
  generate.disabled = true
  const cards = { off: $("#card-off"), on: $("#card-on") }
  for (const card of Object.values(cards)) {
    card.querySelector("img")!.removeAttribute("src")
    renderCard(card, { id: "", state: "queued", step: 0, steps: Number(body["steps"] ?? 0) })
  }
  try {
    const off = await api<{ id: string }>("POST", "/api/jobs", { ...body, pagScale: 0 })
    current = { off: off.id }
    const on = await api<{ id: string }>("POST", "/api/jobs", { ...body, pagScale })
    current = { off: off.id, on: on.id }
    cancel.disabled = false
    const [offStatus, onStatus] = await Promise.all([follow(off.id, cards.off), follow(on.id, cards.on)])
    const failed = [offStatus, onStatus].find((s) => s.state === "failed")
    if (failed?.error !== undefined) showError(failed.error.message)
    addHistory(String(body["prompt"]), body["seed"], offStatus, onStatus, pagScale)
  } catch (error) {
    showError((error as Error).message)
    if (current.off !== undefined) void api("DELETE", `/api/jobs/${current.off}`).catch(() => {})
    for (const card of Object.values(cards)) renderCard(card, "rejected")
  } finally {
    current = {}
    generate.disabled = false
    cancel.disabled = true
  }
}

async function onCancel(): Promise<void> {
  cancel.disabled = true
  const ids = [current.off, current.on].filter((id): id is string => id !== undefined)
  await Promise.all(ids.map((id) => api("DELETE", `/api/jobs/${id}`).catch(() => {})))
}

function onTask(): void {
  $("#inputs").hidden = task.value === "text2image"
  const inpaint = task.value === "inpainting"
  $("#mask-label").style.display = inpaint ? "" : "none"
  $("#mask-canvas").style.display = inpaint ? "" : "none"
  $("#clear-mask").style.display = inpaint ? "" : "none"
}

$("#form").addEventListener("submit", (e) => void onGenerate(e))
cancel.addEventListener("click", () => void onCancel())
task.addEventListener("change", onTask)
$("#clear-mask").addEventListener("click", () => editor.clearMask())
field("image-file").addEventListener("change", () => {
  const file = field("image-file").files?.[0]
  if (file !== undefined) void editor.load(file).catch((e: Error) => showError(`input image: ${e.message}`))
})
for (const id of ["width", "height"]) {
  field(id).addEventListener("change", () => {
    const w = number("width")
    const h = number("height")
    if (w !== undefined && h !== undefined && w >= 8 && h >= 8 && w <= 2048 && h <= 2048) editor.resize(w, h)
  })
}
onTask()
loadModel().catch((e: Error) => showError(`could not load the model info: ${e.message}`))
