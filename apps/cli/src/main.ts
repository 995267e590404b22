#!/usr/bin/env node
/**
 * The `pagkit` command: `generate | img2img | inpaint | compare | layers` — SDXL and PixArt-Sigma with CFG, PAG and
 * the guidance family, from the command line. Exit codes: see `errors.ts` (`EXIT`).
 * @module
 */
import { parseCli } from "./args.js"
import type { ParsedCli } from "./args.js"
import { runCompare } from "./compare-command.js"
import { EXIT, classifyError } from "./errors.js"
import { runLayers } from "./layers-command.js"
import { mainHelp } from "./options.js"
import { createReporter } from "./reporter.js"
import type { Reporter } from "./reporter.js"
import { runCommand } from "./run-command.js"
import { cliVersion } from "./version.js"

async function dispatch(parsed: ParsedCli, reporter: Reporter, signal: AbortSignal): Promise<void> {
  switch (parsed.kind) {
    case "help":
      process.stdout.write(`${parsed.text ?? mainHelp(cliVersion())}\n`)
      return
    case "version":
      process.stdout.write(parsed.json ? `${JSON.stringify({ type: "version", version: cliVersion() })}\n` : `${cliVersion()}\n`)
      return
    case "layers":
      await runLayers(parsed.options, reporter)
      return
    case "compare":
      await runCompare(parsed.options, reporter, signal)
      return
    case "run":
      await runCommand(parsed.options, reporter, signal)
      return
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes("--json")
  let reporter = createReporter({ json, quiet: argv.includes("--quiet") || argv.includes("-q") })
  const controller = new AbortController()
  process.on("SIGINT", () => {
    if (controller.signal.aborted) process.exit(EXIT.aborted) // a second Ctrl-C: leave now
    if (!json) process.stderr.write("\nstopping after the current step… (Ctrl-C again to quit now)\n")
    controller.abort()
  })
  try {
    const parsed = parseCli(argv)
    if (parsed.kind !== "help" && parsed.kind !== "version") reporter = createReporter({ json: parsed.options.json, quiet: parsed.options.quiet })
    await dispatch(parsed, reporter, controller.signal)
    return EXIT.ok
  } catch (error) {
    const { exitCode, code, message, bug } = classifyError(error)
    const text = bug ? `unexpected error (please report it):\n${message}` : message
    reporter.emit({ type: "error", code, exitCode, message: text })
    return exitCode
  }
}

// Exit explicitly: a FIFO input nobody writes to may still hold a libuv thread, which must not keep pagkit alive.
// stdout/stderr writes are synchronous for files and pipes on POSIX, so nothing printed is lost.
process.exit(await main(process.argv.slice(2)))
