/** The `workerData` key under which `PipelineWorker` passes the worker its control port. */
export const CONTROL_PORT_KEY = "pagkitControlPort"

/** Asks the worker thread to end itself between two native calls (see `worker-main.ts`). */
export interface CloseMessage {
  readonly type: "close"
}

/** Whether a control-port message is a {@link CloseMessage}. */
export function isCloseMessage(message: unknown): message is CloseMessage {
  return typeof message === "object" && message !== null && (message as { type?: unknown }).type === "close"
}

/**
 * How long `PipelineWorker.close()` waits for the thread to end itself before it falls back to
 * `Worker.terminate()`. The thread ends itself after its current native call (a session creation or one UNet
 * step), so this only matters for a step that runs longer than this.
 */
export const DEFAULT_CLOSE_TIMEOUT_MS = 120_000
