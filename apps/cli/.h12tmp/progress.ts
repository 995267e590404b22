/** Step progress: a redrawn bar on a terminal, one plain line per step otherwise (logs, CI). */
export interface ProgressReporter {
  step(done: number, total: number, timestep: number): void
  finish(message: string): void
  /** Ends the bar's line without a message (before an error is printed); safe to call more than once. */
  stop(): void
}

/** How often a terminal bar redraws between steps (the elapsed time keeps moving while the UNet runs). */
const REDRAW_MS = 250

/** Makes a reporter writing to `stream`; a bar when it is a TTY. */
export function createProgress(stream: NodeJS.WriteStream, label: string): ProgressReporter {
  const started = Date.now()
  const width = 24
  if (stream.isTTY !== true) {
    return {
      step: (done, total, timestep) => stream.write(`${label}: step ${done}/${total} (t=${timestep})\n`),
      finish: (message) => stream.write(`${message}\n`),
      stop: () => {},
    }
  }
  let last: { done: number; total: number; timestep: number } | undefined
  let first: { done: number; at: number } | undefined // the rate counts from the first step, not the model load
  let timer: NodeJS.Timeout | undefined
  let drawn = false
  const draw = (): void => {
    if (last === undefined) return
    const { done, total, timestep } = last
    const filled = Math.round((done / total) * width)
    const now = Date.now()
    const seconds = (now - started) / 1000
    const rate = first !== undefined && done > first.done ? (((done - first.done) * 1000) / (now - first.at)).toFixed(1) : "-"
    const bar = "█".repeat(filled) + "░".repeat(width - filled)
    stream.write(`\r${label} ${bar} ${done}/${total}  t=${timestep}  ${rate} steps/s  ${seconds.toFixed(0)} s `)
    drawn = true
  }
  const stop = (): void => {
    if (timer !== undefined) clearInterval(timer)
    timer = undefined
    if (drawn) stream.write("\n")
    drawn = false
  }
  return {
    step(done, total, timestep) {
      last = { done, total, timestep }
      first ??= { done, at: Date.now() }
      draw()
      // The run happens in a worker thread, so this thread is free to keep the clock moving between steps.
      timer ??= setInterval(draw, REDRAW_MS).unref()
    },
    finish(message) {
      stop()
      stream.write(`${message}\n`)
    },
    stop,
  }
}
