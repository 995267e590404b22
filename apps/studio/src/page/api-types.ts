// The shapes the page reads from the API (kept in step with src/server by the type-checked e2e test).

/** `GET /api/model`. */
export interface ModelInfoView {
  readonly family: string
  readonly className: string
  readonly name: string
  readonly tasks: readonly string[]
  readonly layers: readonly { readonly path: string; readonly group: string; readonly default: boolean }[]
  readonly schedulers: readonly string[]
  readonly defaults: {
    readonly steps: number
    readonly guidanceScale: number
    readonly pagScale: number
    readonly width: number
    readonly height: number
    readonly scheduler: string
    readonly strength: number
  }
}

/** `GET /api/jobs/:id` and each SSE event. */
export interface JobStatusView {
  readonly id: string
  readonly state: "queued" | "running" | "done" | "failed" | "cancelled"
  readonly step: number
  readonly steps: number
  readonly error?: { readonly code: string; readonly message: string }
}

/** A `{ error: { code, message } }` response body. */
export interface ErrorView {
  readonly error: { readonly code: string; readonly message: string }
}
