/** Step progress: a redrawn bar on a terminal, one plain line per step otherwise (logs, CI). */
export interface ProgressReporter {
  step(done: number, total: number, timestep: number): void
  finish(message: string): void
}

/** Makes a reporter writing to `stream`; a bar when it is a TTY. */
export function createProgress(stream: NodeJS.WriteStream, label: string): ProgressReporter {
  const started = Date.now()
  const width = 24
  if (stream.isTTY !== true) {
    return {
      step: (done, total, timestep) => stream.write(`${label}: step ${done}/${total} (t=${timestep})\n`),
      finish: (message) => stream.write(`${message}\n`),
    }
  }
  return {
    step(done, total, timestep) {
      const filled = Math.round((done / total) * width)
      const seconds = (Date.now() - started) / 1000
      const rate = seconds > 0 ? (done / seconds).toFixed(1) : "-"
      const bar = "█".repeat(filled) + "░".repeat(width - filled)
      stream.write(`\r${label} ${bar} ${done}/${total}  t=${timestep}  ${rate} steps/s `)
    },
    finish(message) {
      stream.write(`\n${message}\n`)
    },
  }
}
