#!/usr/bin/env node
/**
 * `pagkit generate | img2img | inpaint`: SDXL with CFG and Perturbed-Attention Guidance from the command line.
 * @module
 */
import { CliError, parseCli, usage } from "./args.js"
import { runCommand } from "./run-command.js"

/** Errors the libraries raise for bad input carry a `code`; they are the user's to fix, so no stack trace. */
function isUserError(error: unknown): error is Error {
  return error instanceof CliError || (error instanceof Error && typeof (error as { code?: unknown }).code === "string")
}

async function main(argv: readonly string[]): Promise<number> {
  const controller = new AbortController()
  process.once("SIGINT", () => {
    process.stderr.write("\nstopping after the current step…\n")
    controller.abort()
  })
  try {
    const options = parseCli(argv)
    if (options === "help") {
      process.stdout.write(`${usage}\n`)
      return 0
    }
    const written = await runCommand(options, controller.signal)
    for (const file of written) process.stdout.write(`${file}\n`)
    return 0
  } catch (error) {
    if (isUserError(error)) {
      process.stderr.write(`pagkit: ${error.message}\n`)
      return error instanceof CliError ? 2 : 1
    }
    process.stderr.write(`pagkit: unexpected error (please report it):\n${(error as Error)?.stack ?? String(error)}\n`)
    return 70
  }
}

process.exitCode = await main(process.argv.slice(2))
