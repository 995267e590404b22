// What the CLI tells the user: human text on stderr (paths of written files on stdout), or with --json one JSON
// event per line on stdout and nothing else.
import { createProgress } from "./progress.js"
import type { ProgressReporter } from "./progress.js"

/** The `--json` events, one per line on stdout. */
export type CliEvent =
  | { readonly type: "start"; readonly command: string; readonly model: string; readonly seeds: readonly number[] }
  | { readonly type: "progress"; readonly label: string; readonly seed: number; readonly step: number; readonly steps: number; readonly timestep: number }
  | { readonly type: "warning"; readonly message: string }
  | { readonly type: "output"; readonly file: string; readonly seed?: number; readonly index?: number; readonly width: number; readonly height: number; readonly format: string }
  | { readonly type: "done"; readonly files: readonly string[]; readonly seconds: number; readonly pipeline?: string }
  | { readonly type: "layers"; readonly model: string; readonly file: string; readonly target: string; readonly sites: readonly string[] }
  | { readonly type: "resolved"; readonly pattern: string; readonly layers: readonly string[]; readonly notes: readonly string[] }
  | { readonly type: "error"; readonly code: string; readonly exitCode: number; readonly message: string }

/** Receives a command's events. */
export interface Reporter {
  readonly json: boolean
  emit(event: CliEvent): void
  /** A progress bar for one run (human mode); JSON mode turns steps into progress events. */
  progress(label: string, seed: number): ProgressReporter
  /** A human note on stderr (nothing in JSON mode). */
  note(text: string): void
}

/** Makes the reporter for `--json` / `--quiet`. */
export function createReporter(options: { json: boolean; quiet: boolean; stdout?: NodeJS.WriteStream; stderr?: NodeJS.WriteStream }): Reporter {
  const stdout = options.stdout ?? process.stdout
  const stderr = options.stderr ?? process.stderr
  if (options.json) {
    return {
      json: true,
      emit: (event) => void stdout.write(`${JSON.stringify(event)}\n`),
      progress: (label, seed) => ({
        step: (done, total, timestep) => void stdout.write(`${JSON.stringify({ type: "progress", label, seed, step: done, steps: total, timestep })}\n`),
        finish: () => {},
        stop: () => {},
      }),
      note: () => {},
    }
  }
  const silent: ProgressReporter = { step: () => {}, finish: () => {}, stop: () => {} }
  return {
    json: false,
    emit(event) {
      switch (event.type) {
        case "warning":
          stderr.write(`warning: ${event.message}\n`)
          return
        case "output":
          stdout.write(`${event.file}\n`)
          return
        case "error":
          stderr.write(`pagkit: ${event.message}\n`)
          return
        case "resolved":
          stdout.write(`${event.pattern} → ${event.layers.length} site(s):\n${event.layers.map((l) => `  ${l}`).join("\n")}\n`)
          for (const note of event.notes) stderr.write(`note: ${note}\n`)
          return
        case "layers":
          if (!options.quiet) stderr.write(`${event.sites.length} ${event.target} site(s) in ${event.file}:\n`)
          stdout.write(`${event.sites.join("\n")}\n`)
          return
        default:
          return
      }
    },
    progress: (label) => (options.quiet ? silent : createProgress(stderr, label)),
    note: (text) => void (options.quiet ? undefined : stderr.write(`${text}\n`)),
  }
}
